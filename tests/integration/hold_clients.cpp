// Test helper: opens N connections to a Unix socket and holds them, idle or
// trickling a request one byte at a time, or sending the request(s) in FILE
// at once and never reading the replies (an abusive client), for a number of
// seconds.
//   hold_clients SOCKET N SECONDS [idle|trickle|send FILE]
// Prints how many connections were opened and how many the server closed
// (with `send`, a connection the server refused or closed unread counts).
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: hold_clients SOCKET N SECONDS [idle|trickle|send FILE]\n");
    return 64;
  }
  const std::string path = argv[1];
  const int n = std::atoi(argv[2]);
  const int seconds = std::atoi(argv[3]);
  const bool trickle = argc > 4 && std::strcmp(argv[4], "trickle") == 0;
  const bool send_file = argc > 5 && std::strcmp(argv[4], "send") == 0;
  std::string payload;
  if (send_file) {
    std::ifstream in(argv[5], std::ios::binary);
    payload.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);

  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), std::min(path.size() + 1, sizeof addr.sun_path - 1));
  std::vector<int> fds;
  for (int i = 0; i < n; ++i) {
    const int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0 || connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
      std::perror("connect");
      if (fd >= 0) close(fd);
      break;
    }
    fds.push_back(fd);
    if (send_file) {
      // Best effort: what does not fit in the socket's buffer is not sent.
      std::size_t off = 0;
      while (off < payload.size()) {
        const ssize_t k =
            send(fd, payload.data() + off, payload.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k <= 0) break;
        off += static_cast<std::size_t>(k);
      }
    }
  }
  const std::string request = R"({"v":1,"cmd":"status"})";
  const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  std::size_t sent = 0;
  int closed = 0;
  std::vector<bool> gone(fds.size(), false);
  while (send_file && std::chrono::steady_clock::now() < end) {
    // Never read: only notice (with MSG_PEEK, reading nothing) who was closed.
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (gone[i]) continue;
      pollfd p{fds[i], 0, 0};
      if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR))) {
        gone[i] = true;
        ++closed;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  while (std::chrono::steady_clock::now() < end) {
    if (trickle && sent < request.size()) {
      for (std::size_t i = 0; i < fds.size(); ++i)
        if (!gone[i]) (void)send(fds[i], &request[sent], 1, MSG_NOSIGNAL);
      ++sent;
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (gone[i]) continue;
      pollfd p{fds[i], POLLIN, 0};
      if (poll(&p, 1, 0) > 0) {
        char buf[4096];
        if (recv(fds[i], buf, sizeof buf, MSG_DONTWAIT) <= 0) {
          gone[i] = true;
          ++closed;
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(trickle ? 1000 : 200));
  }
  std::printf("opened %zu closed_by_server %d\n", fds.size(), closed);
  for (int fd : fds) close(fd);
  return 0;
}
