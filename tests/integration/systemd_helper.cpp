// Test helper playing systemd's part for jobqd, without systemd:
//   systemd_helper listen PATH [--dgram] -- COMMAND [ARG...]
//       binds a Unix socket at PATH (listening stream; --dgram: a datagram
//       socket, which jobqd must refuse), says "listening on PATH" on stderr
//       once it accepts connections, puts it at fd 3, sets LISTEN_FDS=1,
//       LISTEN_PID (our pid, which COMMAND keeps: we exec it, no fork) and
//       LISTEN_FDNAMES, and execs COMMAND: socket activation.
//   systemd_helper notify-recv ADDRESS SECONDS
//       binds a datagram socket at ADDRESS (a path, or @name for an abstract
//       one), prints "# bound" once it is, then each datagram received
//       followed by a newline (flushed), for at most SECONDS: what
//       $NOTIFY_SOCKET receives.
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

int usage() {
  std::fprintf(stderr,
               "usage: systemd_helper listen PATH [--dgram] -- COMMAND [ARG...]\n"
               "       systemd_helper notify-recv ADDRESS SECONDS\n");
  return 64;
}

int bind_unix(int type, const std::string& name) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (name.empty() || name.size() >= sizeof addr.sun_path) {
    std::fprintf(stderr, "systemd_helper: bad socket address '%s'\n", name.c_str());
    std::exit(64);
  }
  std::memcpy(addr.sun_path, name.data(), name.size());
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
  if (name[0] == '@')
    addr.sun_path[0] = '\0';
  else
    len += 1;
  const int fd = ::socket(AF_UNIX, type, 0);
  if (fd < 0 || ::bind(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
    std::fprintf(stderr, "systemd_helper: bind %s: %s\n", name.c_str(), std::strerror(errno));
    std::exit(1);
  }
  return fd;
}

int listen_and_exec(int argc, char** argv) {
  if (argc < 5) return usage();
  const std::string path = argv[2];
  int i = 3;
  bool dgram = false;
  if (std::strcmp(argv[i], "--dgram") == 0) {
    dgram = true;
    ++i;
  }
  if (i >= argc || std::strcmp(argv[i], "--") != 0 || i + 1 >= argc) return usage();
  const int fd = bind_unix(dgram ? SOCK_DGRAM : SOCK_STREAM, path);
  if (!dgram && ::listen(fd, 128) != 0) {
    std::perror("systemd_helper: listen");
    return 1;
  }
  std::fprintf(stderr, "systemd_helper: listening on %s\n", path.c_str());
  if (fd != 3) {
    if (::dup2(fd, 3) != 3) {
      std::perror("systemd_helper: dup2");
      return 1;
    }
    ::close(fd);
  }
  // dup2 leaves fd 3 without close-on-exec: it survives the exec.
  ::setenv("LISTEN_FDS", "1", 1);
  ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
  ::setenv("LISTEN_FDNAMES", "jobqd.socket", 1);
  ::execvp(argv[i + 1], argv + i + 1);
  std::fprintf(stderr, "systemd_helper: exec %s: %s\n", argv[i + 1], std::strerror(errno));
  return 127;
}

int notify_recv(int argc, char** argv) {
  if (argc != 4) return usage();
  const int fd = bind_unix(SOCK_DGRAM, argv[2]);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(std::atoi(argv[3]));
  std::printf("# bound\n");
  std::fflush(stdout);
  std::vector<char> buf(65536);
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return 0;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n < 0) continue;
    std::fwrite(buf.data(), 1, static_cast<std::size_t>(n), stdout);
    std::printf("\n");
    std::fflush(stdout);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return usage();
  if (std::strcmp(argv[1], "listen") == 0) return listen_and_exec(argc, argv);
  if (std::strcmp(argv[1], "notify-recv") == 0) return notify_recv(argc, argv);
  return usage();
}
