// Enqueue load for the benchmarks: C clients, each on its own connection to
// jobqd, send single `enqueue` requests one after another (each waits for
// its acknowledgement: durable) until N in all are acknowledged. Prints one
// JSON line: {"clients", "jobs", "seconds", "per_second", "errors"}.
//   enqueue_load SOCKET APP CLIENTS JOBS
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

int connect_to(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  return fd;
}

// Sends one line and reads one reply line; false on a broken connection.
bool round_trip(int fd, const std::string& line, std::string& reply) {
  for (std::size_t sent = 0; sent < line.size();) {
    const ssize_t n = ::send(fd, line.data() + sent, line.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  reply.clear();
  char buf[4096];
  while (reply.find('\n') == std::string::npos) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return false;
    reply.append(buf, static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 5) {
    std::fprintf(stderr, "usage: enqueue_load SOCKET APP CLIENTS JOBS\n");
    return 64;
  }
  const std::string socket = argv[1], app = argv[2];
  const int clients = std::atoi(argv[3]);
  const long jobs = std::atol(argv[4]);
  std::atomic<long> next{0}, errors{0};
  const std::string request =
      "{\"v\":1,\"cmd\":\"enqueue\",\"args\":{\"app\":\"" + app +
      "\",\"command\":[\"true\"],\"not_before\":\"2100-01-01T00:00:00Z\"}}\n";
  const auto began = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&] {
      const int fd = connect_to(socket);
      std::string reply;
      while (next.fetch_add(1) < jobs) {
        if (!round_trip(fd, request, reply) || reply.find("\"ok\":true") == std::string::npos)
          ++errors;
      }
      ::close(fd);
    });
  for (auto& t : threads) t.join();
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  std::printf(
      "{\"clients\": %d, \"jobs\": %ld, \"seconds\": %.3f, \"per_second\": %.0f, \"errors\": "
      "%ld}\n",
      clients, jobs, secs, static_cast<double>(jobs) / secs, errors.load());
  return errors.load() == 0 ? 0 : 1;
}
