#include "base/systemd.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>

namespace jobq::systemd {

namespace {

// A decimal number in 1..max, or -1.
long long positive_number(const char* s, long long max) {
  if (!s || !*s) return -1;
  long long n = 0;
  for (const char* p = s; *p; ++p) {
    if (*p < '0' || *p > '9') return -1;
    n = n * 10 + (*p - '0');
    if (n > max) return -1;
  }
  return n == 0 ? -1 : n;
}

std::runtime_error sys_error(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

}  // namespace

std::vector<int> take_listen_fds() {
  const char* pid_text = std::getenv("LISTEN_PID");
  const char* fds_text = std::getenv("LISTEN_FDS");
  const std::string pid_value = pid_text ? pid_text : "";
  const std::string fds_value = fds_text ? fds_text : "";
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  ::unsetenv("LISTEN_FDNAMES");
  if (pid_value.empty()) return {};
  const long long pid = positive_number(pid_value.c_str(), INT_MAX);
  if (pid < 0) throw std::runtime_error("malformed LISTEN_PID '" + pid_value + "'");
  if (pid != ::getpid()) return {};  // meant for another process (our parent)
  const long long count = positive_number(fds_value.c_str(), INT_MAX - kListenFdsStart);
  if (count < 0) throw std::runtime_error("malformed LISTEN_FDS '" + fds_value + "'");
  std::vector<int> fds;
  for (int fd = kListenFdsStart; fd < kListenFdsStart + static_cast<int>(count); ++fd) {
    const int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0)
      throw sys_error("socket activation: passed file descriptor " + std::to_string(fd));
    if (::fcntl(fd, F_SETFD, flags | FD_CLOEXEC) != 0) throw sys_error("fcntl");
    fds.push_back(fd);
  }
  return fds;
}

bool notify(const std::string& state) {
  const char* env = std::getenv("NOTIFY_SOCKET");
  if (!env || !*env) return false;
  const std::string target = env;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if ((target[0] != '/' && target[0] != '@') || target.size() < 2)
    throw std::runtime_error("NOTIFY_SOCKET '" + target +
                             "' is neither a path nor an abstract name (@...)");
  if (target.size() >= sizeof addr.sun_path)
    throw std::runtime_error("NOTIFY_SOCKET '" + target + "' is too long");
  std::memcpy(addr.sun_path, target.data(), target.size());
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + target.size());
  if (target[0] == '@')
    addr.sun_path[0] = '\0';  // abstract: the name is exactly the bytes given, no terminator
  else
    len += 1;  // a path counts its terminating NUL
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw sys_error("notify socket");
  ssize_t n = -1;
  do {
    n = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                 reinterpret_cast<const sockaddr*>(&addr), len);
  } while (n < 0 && errno == EINTR);
  const int err = errno;
  ::close(fd);
  if (n < 0) {
    errno = err;
    throw sys_error("cannot notify systemd at " + target);
  }
  if (static_cast<std::size_t>(n) != state.size())
    throw std::runtime_error("cannot notify systemd at " + target + ": short send");
  return true;
}

bool is_journal_stream(int fd, const char* journal_stream) {
  if (!journal_stream) return false;
  const std::string value = journal_stream;
  const auto colon = value.find(':');
  if (colon == std::string::npos) return false;
  const auto decimal = [](const std::string& s, unsigned long long& out) {
    if (s.empty() || s.size() > 20 || s.find_first_not_of("0123456789") != std::string::npos)
      return false;
    errno = 0;
    out = std::strtoull(s.c_str(), nullptr, 10);
    return errno == 0;
  };
  unsigned long long dev = 0;
  unsigned long long ino = 0;
  if (!decimal(value.substr(0, colon), dev) || !decimal(value.substr(colon + 1), ino)) return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  return static_cast<unsigned long long>(st.st_dev) == dev &&
         static_cast<unsigned long long>(st.st_ino) == ino;
}

bool stderr_is_journal_stream() {
  return is_journal_stream(STDERR_FILENO, std::getenv("JOURNAL_STREAM"));
}

}  // namespace jobq::systemd
