// systemd's protocol without libsystemd: sd_notify datagrams to
// $NOTIFY_SOCKET (a path or an abstract name), socket activation's
// LISTEN_PID/LISTEN_FDS, and SocketServer serving an adopted socket.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>

#include "base/systemd.hpp"
#include "server/socket_server.hpp"
#include "test_support.hpp"
#include "wire/client.hpp"
#include "wire/protocol.hpp"

using jobq::SocketServer;
using jobq::test::TempDir;

namespace {

// An environment variable set for one scope, restored (or removed) after.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const std::string& value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (had_old())
      ::setenv(name_, old_.c_str(), 1);
    else
      ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  bool had_old() const { return !old_.empty(); }
  const char* name_;
  std::string old_;
};

// A Unix socket address for `name` (a path, or "@abstract"), and its length.
std::pair<sockaddr_un, socklen_t> address(const std::string& name) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, name.data(), name.size());
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
  if (name[0] == '@')
    addr.sun_path[0] = '\0';
  else
    len += 1;
  return {addr, len};
}

// A bound socket of `type` (SOCK_STREAM or SOCK_DGRAM) at `name`.
int bound_socket(int type, const std::string& name) {
  const int fd = ::socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  const auto [addr, len] = address(name);
  REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), len) == 0);
  return fd;
}

// The next datagram on fd (waits at most 5 s).
std::string receive(int fd) {
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[4096];
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  return n < 0 ? std::string("(nothing: ") + std::strerror(errno) + ")"
               : std::string(buf, static_cast<std::size_t>(n));
}

std::string unique_abstract_name() {
  std::random_device rd;
  return "@jobq-unit-" + std::to_string(::getpid()) + "-" + std::to_string(rd());
}

// Puts `fd` at file descriptor 3 for one scope, where socket activation
// passes sockets, and puts back what was there.
class AtFd3 {
 public:
  explicit AtFd3(int fd) {
    saved_ = ::fcntl(3, F_DUPFD_CLOEXEC, 100);  // -1 if fd 3 was not open
    REQUIRE(::dup2(fd, 3) == 3);
  }
  ~AtFd3() {
    if (saved_ >= 0) {
      ::dup2(saved_, 3);
      ::close(saved_);
    } else {
      ::close(3);
    }
  }
  AtFd3(const AtFd3&) = delete;
  AtFd3& operator=(const AtFd3&) = delete;

 private:
  int saved_ = -1;
};

}  // namespace

TEST_CASE("notify without NOTIFY_SOCKET does nothing") {
  ::unsetenv("NOTIFY_SOCKET");
  CHECK_FALSE(jobq::systemd::notify("READY=1"));
}

TEST_CASE("notify sends the state as one datagram to a socket path") {
  TempDir dir;
  const std::string path = dir.file("notify.sock");
  const int fd = bound_socket(SOCK_DGRAM, path);
  ScopedEnv env("NOTIFY_SOCKET", path);
  CHECK(jobq::systemd::notify("READY=1\nSTATUS=listening"));
  CHECK(receive(fd) == "READY=1\nSTATUS=listening");
  CHECK(jobq::systemd::notify("STOPPING=1"));
  CHECK(receive(fd) == "STOPPING=1");
  ::close(fd);
}

TEST_CASE("notify reaches an abstract socket written with '@'") {
  const std::string name = unique_abstract_name();
  const int fd = bound_socket(SOCK_DGRAM, name);
  ScopedEnv env("NOTIFY_SOCKET", name);
  CHECK(jobq::systemd::notify("READY=1"));
  CHECK(receive(fd) == "READY=1");
  ::close(fd);
}

TEST_CASE("notify to a socket nobody listens on, or a malformed NOTIFY_SOCKET, throws") {
  TempDir dir;
  {
    ScopedEnv env("NOTIFY_SOCKET", dir.file("nobody.sock"));
    CHECK_THROWS_AS(jobq::systemd::notify("READY=1"), std::runtime_error);
  }
  {
    ScopedEnv env("NOTIFY_SOCKET", "relative/path");
    CHECK_THROWS_AS(jobq::systemd::notify("READY=1"), std::runtime_error);
  }
  {
    ScopedEnv env("NOTIFY_SOCKET", "/" + std::string(200, 'x'));
    CHECK_THROWS_AS(jobq::systemd::notify("READY=1"), std::runtime_error);
  }
}

TEST_CASE("take_listen_fds: nothing passed, or passed to another process") {
  ::unsetenv("LISTEN_PID");
  ::unsetenv("LISTEN_FDS");
  CHECK(jobq::systemd::take_listen_fds().empty());

  ::setenv("LISTEN_PID", std::to_string(::getpid() + 1).c_str(), 1);
  ::setenv("LISTEN_FDS", "1", 1);
  ::setenv("LISTEN_FDNAMES", "jobqd.socket", 1);
  CHECK(jobq::systemd::take_listen_fds().empty());
  // Removed either way, so that nothing we start inherits them.
  CHECK(std::getenv("LISTEN_PID") == nullptr);
  CHECK(std::getenv("LISTEN_FDS") == nullptr);
  CHECK(std::getenv("LISTEN_FDNAMES") == nullptr);
}

TEST_CASE("take_listen_fds: malformed values are errors") {
  ::setenv("LISTEN_PID", "12x", 1);
  ::setenv("LISTEN_FDS", "1", 1);
  CHECK_THROWS_AS(jobq::systemd::take_listen_fds(), std::runtime_error);
  ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
  ::setenv("LISTEN_FDS", "0", 1);
  CHECK_THROWS_AS(jobq::systemd::take_listen_fds(), std::runtime_error);
  ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
  ::setenv("LISTEN_FDS", "-1", 1);
  CHECK_THROWS_AS(jobq::systemd::take_listen_fds(), std::runtime_error);
  CHECK(std::getenv("LISTEN_PID") == nullptr);
}

TEST_CASE("take_listen_fds returns fd 3 when it was passed to us, close-on-exec") {
  TempDir dir;
  const int sock = bound_socket(SOCK_STREAM, dir.file("a.sock"));
  REQUIRE(::listen(sock, 8) == 0);
  AtFd3 at3(sock);
  ::fcntl(3, F_SETFD, 0);  // as inherited: not close-on-exec
  ::setenv("LISTEN_PID", std::to_string(::getpid()).c_str(), 1);
  ::setenv("LISTEN_FDS", "1", 1);
  const auto fds = jobq::systemd::take_listen_fds();
  REQUIRE(fds.size() == 1);
  CHECK(fds[0] == 3);
  CHECK((::fcntl(3, F_GETFD) & FD_CLOEXEC) != 0);
  CHECK(SocketServer::listening_socket_name(3) == dir.file("a.sock"));
  ::close(sock);
}

TEST_CASE("listening_socket_name refuses what is not a listening Unix stream socket") {
  TempDir dir;
  const int dgram = bound_socket(SOCK_DGRAM, dir.file("d.sock"));
  CHECK_THROWS_WITH_AS(SocketServer::listening_socket_name(dgram),
                       doctest::Contains("is not a stream socket"), std::runtime_error);
  const int idle = bound_socket(SOCK_STREAM, dir.file("s.sock"));  // bound, not listening
  CHECK_THROWS_WITH_AS(SocketServer::listening_socket_name(idle),
                       doctest::Contains("is not listening"), std::runtime_error);
  const int inet = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  CHECK_THROWS_WITH_AS(SocketServer::listening_socket_name(inet),
                       doctest::Contains("is not a Unix socket"), std::runtime_error);
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  CHECK_THROWS_WITH_AS(SocketServer::listening_socket_name(pipe_fds[0]),
                       doctest::Contains("is not a socket"), std::runtime_error);
  for (int fd : {dgram, idle, inet, pipe_fds[0], pipe_fds[1]}) ::close(fd);

  const std::string abstract = unique_abstract_name();
  const int listening = bound_socket(SOCK_STREAM, abstract);
  REQUIRE(::listen(listening, 8) == 0);
  CHECK(SocketServer::listening_socket_name(listening) == abstract);
  ::close(listening);
}

TEST_CASE("SocketServer serves an adopted listening socket and leaves its file alone") {
  TempDir dir;
  const std::string path = dir.file("activated.sock");
  const int fd = bound_socket(SOCK_STREAM, path);
  REQUIRE(::listen(fd, 8) == 0);
  {
    SocketServer::Options o;
    o.path = dir.file("ignored.sock");
    o.adopt_fd = fd;
    SocketServer server(o, [](std::string line, const jobq::PeerCred&, jobq::Responder reply) {
      reply(jobq::encode_ok(jobq::parse_request(line).args));
    });
    server.listen();
    std::atomic<bool> stop{false};
    std::thread loop([&] { server.run(stop); });
    const auto result = jobq::Client(path).call("echo", {{"hello", "systemd"}});
    stop = true;
    server.wake();
    loop.join();
    CHECK(result.value("hello", "") == "systemd");
  }
  struct stat st {};
  CHECK(::stat(path.c_str(), &st) == 0);  // the socket file stays: it is systemd's
  CHECK(::stat(dir.file("ignored.sock").c_str(), &st) != 0);
  CHECK(::fcntl(fd, F_GETFD) < 0);  // the server closed the descriptor it adopted
}
