#include "paths.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

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
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw std::runtime_error(path + " is not a directory");
}

}  // namespace jobq
