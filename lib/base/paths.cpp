#include "base/paths.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "base/users.hpp"

namespace jobq {

namespace {
std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}
}  // namespace

std::string default_socket_path() {
  if (::geteuid() == 0) return "/run/jobq/jobq.sock";
  if (auto xdg = env_or_empty("XDG_RUNTIME_DIR"); !xdg.empty()) return xdg + "/jobq/jobq.sock";
  return "/tmp/jobq-" + std::to_string(::geteuid()) + "/jobq.sock";
}

std::string default_state_dir() {
  if (::geteuid() == 0) return "/var/lib/jobq";
  if (auto xdg = env_or_empty("XDG_STATE_HOME"); !xdg.empty()) return xdg + "/jobq";
  if (auto home = env_or_empty("HOME"); !home.empty()) return home + "/.local/state/jobq";
  return "/tmp/jobq-state-" + std::to_string(::geteuid());
}

std::string resolve_socket_path(const std::string& option) {
  if (!option.empty()) return option;
  if (auto env = env_or_empty("JOBQ_SOCKET"); !env.empty()) return env;
  return default_socket_path();
}

std::string system_socket_path() {
  if (auto test = env_or_empty("JOBQ_TEST_SYSTEM_SOCKET"); !test.empty()) return test;
  return "/run/jobq/jobq.sock";
}

std::vector<std::string> client_socket_paths(const std::string& option) {
  if (!option.empty()) return {option};
  if (auto env = env_or_empty("JOBQ_SOCKET"); !env.empty()) return {env};
  std::vector<std::string> paths{default_socket_path()};
  if (auto system = system_socket_path(); system != paths.front()) paths.push_back(system);
  return paths;
}

std::string resolve_state_dir(const std::string& option) {
  if (!option.empty()) return option;
  if (auto env = env_or_empty("JOBQ_STATE_DIR"); !env.empty()) return env;
  return default_state_dir();
}

void make_dirs(const std::string& path, unsigned mode) {
  if (path.empty()) return;
  std::string partial;
  std::size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    partial = path.substr(0, pos);
    if (partial.empty()) continue;
    if (::mkdir(partial.c_str(), static_cast<mode_t>(mode)) != 0 && errno != EEXIST)
      throw std::runtime_error("cannot create directory " + partial + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw std::runtime_error(path + " is not a directory");
}

std::string parent_dir(const std::string& path) {
  const auto slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

namespace {
std::string owner_text(uid_t uid) {
  return "uid " + std::to_string(uid) + " (" + user_name(uid) + ")";
}

bool others_may_write(const struct stat& st) {
  return (st.st_mode & (S_IWGRP | S_IWOTH)) != 0;
}
}  // namespace

void check_own_dir(const std::string& dir, const std::string& what, bool sticky_ok,
                   const std::string& threat) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0)
    throw std::runtime_error("cannot stat " + what + " " + dir + ": " + std::strerror(errno));
  if (!S_ISDIR(st.st_mode)) throw std::runtime_error(what + " " + dir + " is not a directory");
  const uid_t me = ::geteuid();
  if (st.st_uid != me && st.st_uid != 0)
    throw std::runtime_error(what + " " + dir + " belongs to " + owner_text(st.st_uid) +
                             ", not to jobqd's user or root; fix it with: chown " +
                             std::to_string(me) + " " + dir);
  if (others_may_write(st) && !(sticky_ok && (st.st_mode & S_ISVTX)))
    throw std::runtime_error(what + " " + dir + " is writable by others, who could " + threat +
                             "; fix it with: chmod go-w " + dir);
}

void check_state_dir(const std::string& dir) {
  check_own_dir(dir, "the state directory", false, "replace jobqd's database");
  const std::string parent = parent_dir(dir);
  struct stat pst {};
  if (::stat(parent.c_str(), &pst) == 0 && others_may_write(pst) && !(pst.st_mode & S_ISVTX))
    throw std::runtime_error("the state directory's parent " + parent +
                             " is writable by others, who could swap the state directory; choose "
                             "another --state-dir or fix it with: chmod go-w " +
                             parent);
}

int open_private_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == ELOOP)
      throw std::runtime_error(path +
                               " is a symbolic link; jobqd does not follow links to its own "
                               "files: remove it");
    throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  }
  struct stat st {};
  std::string problem;
  if (::fstat(fd, &st) != 0)
    problem = std::string("cannot stat it: ") + std::strerror(errno);
  else if (!S_ISREG(st.st_mode))
    problem = "it is not a regular file";
  else if (st.st_uid != ::geteuid())
    problem = "it belongs to " + owner_text(st.st_uid) + ", not to jobqd's user";
  else if ((st.st_mode & 07777) != 0600 && ::fchmod(fd, 0600) != 0)
    problem = std::string("cannot make it private (0600): ") + std::strerror(errno);
  if (!problem.empty()) {
    ::close(fd);
    throw std::runtime_error(path + ": " + problem);
  }
  return fd;
}

void check_socket_owner(const std::string& socket_path) {
  const std::string dir = parent_dir(socket_path);
  const uid_t me = ::geteuid();
  const auto trusted = [me](uid_t uid) { return uid == 0 || uid == me; };
  const std::string advice =
      "; another user may be impersonating jobqd: do not use it (ask an admin), or point "
      "--socket / JOBQ_SOCKET at jobqd's socket";
  struct stat dst {};
  if (::stat(dir.c_str(), &dst) != 0) return;  // connecting will say it is missing
  if (!trusted(dst.st_uid))
    throw std::runtime_error("refusing the socket " + socket_path + ": its directory " + dir +
                             " belongs to " + owner_text(dst.st_uid) + ", not to you or root" +
                             advice);
  if (others_may_write(dst) && !(dst.st_mode & S_ISVTX))
    throw std::runtime_error("refusing the socket " + socket_path + ": its directory " + dir +
                             " is writable by others, who could replace it" + advice);
  struct stat st {};
  if (::lstat(socket_path.c_str(), &st) != 0) return;
  if (!S_ISSOCK(st.st_mode))
    throw std::runtime_error("refusing " + socket_path + ": it is not a socket" + advice);
  if (others_may_write(dst) && !trusted(st.st_uid))
    throw std::runtime_error("refusing the socket " + socket_path + ": it belongs to " +
                             owner_text(st.st_uid) +
                             ", not to you or root, in a directory anyone may write in" + advice);
}

}  // namespace jobq
