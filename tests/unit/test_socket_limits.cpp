// SocketServer's limits per user and per loop turn: the per-uid budget of
// unsent replies, the per-uid share of connections (admins past it), no poll
// for input on a connection that cannot take more.
#include <doctest/doctest.h>

#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "server/socket_server.hpp"
#include "test_support.hpp"
#include "wire/protocol.hpp"

using jobq::Responder;
using jobq::SocketServer;
using jobq::test::TempDir;
using jobq::test::wait_until;
using nlohmann::json;

namespace {

// A server whose `big {size}` answers `size` bytes at once and `echo` its
// args; counts the requests it was handed.
class LimitServer {
 public:
  explicit LimitServer(const std::function<void(SocketServer::Options&)>& tune) {
    SocketServer::Options o;
    o.path = dir_.file("s.sock");
    o.max_line = 64 << 10;
    tune(o);
    server_ = std::make_unique<SocketServer>(
        o, [this](std::string line, const jobq::PeerCred&, Responder reply) {
          ++dispatched;
          const jobq::Request req = jobq::parse_request(line);
          if (req.cmd == "big") {
            const std::size_t size = req.args.value("size", std::size_t{1} << 20);
            return reply(jobq::encode_ok(json{{"data", std::string(size, 'x')}}));
          }
          if (req.cmd == "later") {
            later = std::make_unique<Responder>(reply);
            has_later = true;
            return;
          }
          reply(jobq::encode_ok(req.args));
        });
    server_->listen();
    loop_ = std::thread([this] { server_->run(stop_); });
  }
  ~LimitServer() {
    stop_ = true;
    server_->wake();
    loop_.join();
  }
  std::string path() const { return dir_.file("s.sock"); }
  // CPU time the loop's thread has used so far.
  std::chrono::nanoseconds loop_cpu() {
    clockid_t cid{};
    timespec ts{};
    if (pthread_getcpuclockid(loop_.native_handle(), &cid) != 0 || clock_gettime(cid, &ts) != 0)
      throw std::runtime_error("cannot read the loop's CPU time");
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
  }

  std::atomic<int> dispatched{0};
  std::unique_ptr<Responder> later;  // the `later` request's, once has_later
  std::atomic<bool> has_later{false};

 private:
  TempDir dir_;
  std::unique_ptr<SocketServer> server_;
  std::atomic<bool> stop_{false};
  std::thread loop_;
};

class Conn {
 public:
  explicit Conn(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("cannot connect to " + path);
  }
  ~Conn() { ::close(fd_); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  // Sends what fits without blocking; returns how much.
  std::size_t send(const std::string& bytes) {
    std::size_t off = 0;
    while (off < bytes.size()) {
      const ssize_t n =
          ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    return off;
  }
  // The first reply line (reads until a newline or EOF, up to 5 s).
  std::string line() {
    std::string got;
    char c = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      if (::read(fd_, &c, 1) != 1 || c == '\n') break;
      got += c;
    }
    return got;
  }

 private:
  int fd_ = -1;
};

std::string request(const std::string& cmd, const json& args = json::object()) {
  return jobq::encode_request(jobq::Request{cmd, args});
}

}  // namespace

TEST_CASE("one user's unsent replies stay within its budget: no new request is started past it") {
  constexpr std::size_t kBudget = 4u << 20;
  LimitServer s([&](SocketServer::Options& o) { o.max_user_bytes = kBudget; });
  std::vector<std::unique_ptr<Conn>> clients;
  for (int i = 0; i < 24; ++i) {  // 24 requests for 1 MiB each, never read
    clients.push_back(std::make_unique<Conn>(s.path()));
    clients.back()->send(request("big"));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  // Each reply is 1 MiB; the kernel takes a few hundred KiB of each. So
  // within the budget only a handful can be started, never all 24.
  const int started = s.dispatched.load();
  CHECK(started >= 4);
  CHECK(started <= 10);
  // Clients that go away free the budget: the others are served in turn.
  for (int i = 0; i < started; ++i) clients[static_cast<std::size_t>(i)].reset();
  CHECK(wait_until([&] { return s.dispatched.load() > started; }, std::chrono::seconds(5)));
  // A reader gets its whole reply.
  clients.clear();
  Conn reader(s.path());
  reader.send(request("echo", json{{"x", 1}}));
  CHECK(jobq::decode_response(reader.line()) == json{{"x", 1}});
}

TEST_CASE("a reply from another thread sees whether its user has room") {
  LimitServer s([](SocketServer::Options& o) { o.max_user_bytes = 2u << 20; });
  Conn waiting(s.path());
  waiting.send(request("later"));
  REQUIRE(wait_until([&] { return s.has_later.load(); }, std::chrono::seconds(5)));
  CHECK(s.later->user_has_room());
  std::vector<std::unique_ptr<Conn>> hogs;
  for (int i = 0; i < 4; ++i) {
    hogs.push_back(std::make_unique<Conn>(s.path()));
    hogs.back()->send(request("big"));
  }
  CHECK(wait_until([&] { return !s.later->user_has_room(); }, std::chrono::seconds(5)));
  hogs.clear();  // gone: their replies no longer count
  CHECK(wait_until([&] { return s.later->user_has_room(); }, std::chrono::seconds(5)));
}

TEST_CASE("a user past its share of connections is refused, naming the limit; admins get in") {
  std::atomic<bool> admin{false};
  LimitServer s([&](SocketServer::Options& o) {
    o.max_connections = 5;
    o.max_connections_per_user = 2;
    o.privileged = [&admin](const jobq::PeerCred&) { return admin.load(); };
  });
  Conn a(s.path()), b(s.path());
  a.send(request("echo"));
  b.send(request("echo"));
  REQUIRE(a.line().find("\"ok\":true") != std::string::npos);
  REQUIRE(b.line().find("\"ok\":true") != std::string::npos);
  Conn c(s.path());
  c.send(request("echo"));
  const std::string refused = c.line();
  CHECK(refused.find("\"unavailable\"") != std::string::npos);
  CHECK(refused.find("--max-connections-per-user") != std::string::npos);
  // An admin is let in past the share, and past the total.
  admin = true;
  std::vector<std::unique_ptr<Conn>> more;
  for (int i = 0; i < 5; ++i) {
    more.push_back(std::make_unique<Conn>(s.path()));
    more.back()->send(request("echo", json{{"i", i}}));
  }
  for (int i = 0; i < 5; ++i)
    CHECK(jobq::decode_response(more[static_cast<std::size_t>(i)]->line()) == json{{"i", i}});
  // Past the total, a non-admin hears which limit it was.
  admin = false;
  Conn d(s.path());
  d.send(request("echo"));
  CHECK(d.line().find("too many open connections") != std::string::npos);
}

TEST_CASE(
    "a client that pipelines past the line limit and never reads does not make the loop spin") {
  LimitServer s([](SocketServer::Options&) {});
  Conn c(s.path());
  // A reply larger than the socket's buffer keeps output pending; then more
  // pipelined requests than the line limit.
  c.send(request("big", json{{"size", 4u << 20}}));
  REQUIRE(wait_until([&] { return s.dispatched.load() == 1; }, std::chrono::seconds(5)));
  std::string pipelined;
  while (pipelined.size() < (256u << 10))
    pipelined += request("echo", json{{"pad", std::string(1000, 'p')}});
  c.send(pipelined);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto before = s.loop_cpu();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  const auto used = s.loop_cpu() - before;
  // A spinning loop burns the whole second; reading the tail of the
  // pipelined requests on a loaded machine under the sanitizers took 112 ms.
  CHECK(used < std::chrono::milliseconds(300));
  CHECK(s.dispatched.load() == 1);  // the next waits for the reply to be read
}
