// Streamed replies: SocketServer partial lines with backpressure, and
// Client::stream on the other end.
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "server/socket_server.hpp"
#include "test_support.hpp"
#include "wire/client.hpp"
#include "wire/protocol.hpp"

using jobq::Client;
using jobq::Responder;
using jobq::SocketServer;
using jobq::test::TempDir;
using jobq::test::wait_until;
using nlohmann::json;

namespace {

// A SocketServer on a temporary socket with two commands:
//   echo {..}                      -> the args, at once
//   stream {n, size, cap}          -> n partial lines {i, data: size bytes},
//                                     then {count: n}; the producer waits
//                                     while backlog() > cap
class StreamServer {
 public:
  struct Producer {
    std::optional<Responder> reply;
    std::atomic<int> posted{0};
    std::atomic<bool> done{false};
    std::atomic<bool> finished{false};  // posted its final line
  };

  explicit StreamServer(std::chrono::milliseconds idle_timeout = std::chrono::seconds(60)) {
    SocketServer::Options o;
    o.path = dir_.file("s.sock");
    o.idle_timeout = idle_timeout;
    server_ = std::make_unique<SocketServer>(o, [this](std::string line, const jobq::PeerCred&,
                                                       Responder reply) { dispatch(line, reply); });
    server_->listen();
    loop_ = std::thread([this] { server_->run(stop_); });
  }

  ~StreamServer() {
    quit_ = true;
    for (auto& t : producers_) t.join();
    stop_ = true;
    server_->wake();
    loop_.join();
  }

  std::string path() const { return dir_.file("s.sock"); }
  // The last `stream` request's producer (nullptr before the first).
  std::shared_ptr<Producer> last() {
    std::lock_guard lock(mu_);
    return last_;
  }

 private:
  void dispatch(const std::string& line, const Responder& reply) {
    const jobq::Request req = jobq::parse_request(line);
    if (req.cmd == "echo") return reply(jobq::encode_ok(req.args));
    const int n = req.args.value("n", 0);
    const std::size_t size = req.args.value("size", std::size_t{4096});
    const std::size_t cap = req.args.value("cap", std::size_t{256} << 10);
    auto p = std::make_shared<Producer>();
    p->reply = reply;
    std::lock_guard lock(mu_);
    last_ = p;
    // Not on the loop's thread: it must go on writing while we wait.
    producers_.emplace_back([this, p, n, size, cap] {
      const Responder& r = *p->reply;
      for (int i = 0; i < n; ++i) {
        while (r.backlog() > cap && r.client_alive() && !quit_)
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        if (!r.client_alive() || quit_) {
          p->done = true;
          return;
        }
        r.partial(jobq::encode_partial(
            json{{"i", i}, {"data", std::string(size, static_cast<char>('a' + i % 26))}}));
        ++p->posted;
      }
      r(jobq::encode_ok(json{{"count", n}}));
      p->finished = true;
      p->done = true;
    });
  }

  TempDir dir_;
  std::unique_ptr<SocketServer> server_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> quit_{false};
  std::thread loop_;
  std::mutex mu_;
  std::vector<std::thread> producers_;
  std::shared_ptr<Producer> last_;
};

// A raw connection that sends one request and then reads only when told.
class RawClient {
 public:
  explicit RawClient(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    if (fd_ < 0 || ::connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("cannot connect to " + path);
  }
  ~RawClient() { close(); }
  void send(const std::string& line) {
    if (::send(fd_, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size()))
      throw std::runtime_error("short send");
  }
  // Reads until `bytes` more have arrived (or EOF); returns what was read.
  std::string read(std::size_t bytes) {
    std::string got;
    char buf[65536];
    while (got.size() < bytes) {
      const ssize_t n = ::read(fd_, buf, std::min(sizeof buf, bytes - got.size()));
      if (n <= 0) break;
      got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
  }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

// Waits until `value` has not changed for `quiet`; returns its value then.
template <typename F>
auto settled(F value, std::chrono::milliseconds quiet = std::chrono::milliseconds(300)) {
  auto last = value();
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(quiet);
    const auto now = value();
    if (now == last) return now;
    last = now;
  }
  return last;
}

}  // namespace

TEST_CASE("encode_partial and decode_response_frame tell partial from final") {
  const json result{{"data", "x"}};
  const std::string partial = jobq::encode_partial(result);
  CHECK(partial.back() == '\n');
  CHECK(partial.find('\n') == partial.size() - 1);
  const json doc = json::parse(partial);
  CHECK(doc["v"] == jobq::kProtocolVersion);
  CHECK(doc["ok"] == true);
  CHECK(doc["more"] == true);
  auto frame = jobq::decode_response_frame(partial.substr(0, partial.size() - 1));
  CHECK(frame.more);
  CHECK(frame.result == result);
  frame = jobq::decode_response_frame(jobq::encode_ok(result));
  CHECK_FALSE(frame.more);
  CHECK(frame.result == result);
  CHECK_THROWS_AS(jobq::decode_response_frame(R"({"v":1,"ok":true,"more":"yes","result":{}})"),
                  jobq::ProtocolError);
  CHECK_THROWS_AS(
      jobq::decode_response_frame(jobq::encode_error(jobq::ErrorCode::not_found, "gone")),
      jobq::ProtocolError);
}

TEST_CASE("Client::stream gets every partial line in order, then the final result") {
  StreamServer server;
  Client client(server.path());
  constexpr int kFrames = 1000;
  std::vector<int> seen;
  bool order_ok = true;
  const json final_result =
      client.stream("stream", json{{"n", kFrames}, {"size", 4000}}, [&](const json& partial) {
        const int i = partial.at("i").get<int>();
        const auto& data = partial.at("data").get_ref<const std::string&>();
        order_ok =
            order_ok && data.size() == 4000 && data.front() == static_cast<char>('a' + i % 26);
        seen.push_back(i);
      });
  CHECK(final_result == json{{"count", kFrames}});
  REQUIRE(seen.size() == static_cast<std::size_t>(kFrames));
  for (int i = 0; i < kFrames; ++i) order_ok = order_ok && seen[static_cast<std::size_t>(i)] == i;
  CHECK(order_ok);

  // A stream with no partial lines is just its final reply.
  int calls = 0;
  CHECK(client.stream("stream", json{{"n", 0}}, [&](const json&) { ++calls; }) ==
        json{{"count", 0}});
  CHECK(calls == 0);
  // call() shares the code: a plain reply still works, a streamed one is refused.
  CHECK(client.call("echo", json{{"a", 1}}) == json{{"a", 1}});
  CHECK_THROWS_AS(client.call("stream", json{{"n", 3}}), jobq::ProtocolError);
}

TEST_CASE("the connection serves the next request once the streamed reply is final") {
  StreamServer server;
  RawClient raw(server.path());
  raw.send(jobq::encode_request({"stream", json{{"n", 3}, {"size", 10}}}) +
           jobq::encode_request({"echo", json{{"after", true}}}));
  std::string got;
  for (int lines = 0; lines < 5;) {
    const std::string more = raw.read(1);
    REQUIRE(!more.empty());
    got += more;
    lines = static_cast<int>(std::count(got.begin(), got.end(), '\n'));
  }
  std::vector<jobq::ResponseFrame> frames;
  for (std::size_t start = 0, nl; (nl = got.find('\n', start)) != std::string::npos; start = nl + 1)
    frames.push_back(jobq::decode_response_frame(std::string_view(got).substr(start, nl - start)));
  REQUIRE(frames.size() == 5);
  for (int i = 0; i < 3; ++i) {
    CHECK(frames[static_cast<std::size_t>(i)].more);
    CHECK(frames[static_cast<std::size_t>(i)].result["i"] == i);
  }
  CHECK_FALSE(frames[3].more);
  CHECK(frames[3].result == json{{"count", 3}});
  CHECK(frames[4].result == json{{"after", true}});
}

TEST_CASE("a client that does not read is throttled, not buffered; closing it ends the stream") {
  // A short idle timeout: a connection being served is not idle, however long.
  StreamServer server(std::chrono::milliseconds(200));
  constexpr std::size_t kCap = 1 << 20;
  constexpr std::size_t kFrame = 4096;
  constexpr int kFrames = 100'000;  // ~400 MiB if nothing held the producer back
  RawClient raw(server.path());
  raw.send(jobq::encode_request({"stream", json{{"n", kFrames}, {"size", kFrame}, {"cap", kCap}}}));
  REQUIRE(wait_until([&] { return server.last() != nullptr; }));
  const auto p = server.last();
  const Responder& reply = *p->reply;

  // The backlog rises, then stops rising: the producer waits above the cap.
  REQUIRE(wait_until([&] { return reply.backlog() > 0; }));
  const int posted = settled([&] { return p->posted.load(); });
  const std::size_t backlog = reply.backlog();
  CHECK(backlog > kCap);
  CHECK(backlog <= kCap + kFrame + 100);
  CHECK(posted < kFrames / 10);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // past the idle timeout
  CHECK(reply.backlog() == backlog);
  CHECK(p->posted == posted);
  CHECK(reply.client_alive());

  // Reading lets it go on: the first bytes are the first frames, in order.
  const std::string got = raw.read(4 * kCap);
  REQUIRE(got.size() == 4 * kCap);
  const auto first = jobq::decode_response_frame(std::string_view(got).substr(0, got.find('\n')));
  CHECK(first.more);
  CHECK(first.result["i"] == 0);
  REQUIRE(wait_until([&] { return p->posted > posted; }));
  const int posted_after_read = settled([&] { return p->posted.load(); });
  CHECK(posted_after_read < kFrames / 10);
  CHECK(reply.backlog() <= kCap + kFrame + 100);

  // The client goes away: the connection is closed, the producer sees it.
  raw.close();
  CHECK(wait_until([&] { return !reply.client_alive(); }));
  CHECK(wait_until([&] { return p->done.load(); }));
  CHECK_FALSE(p->finished);
  CHECK(reply.backlog() == 0);
  // Posting to a closed connection is harmless.
  reply.partial(jobq::encode_partial(json::object()));
  reply(jobq::encode_ok(json::object()));
  CHECK(reply.backlog() == 0);
}

TEST_CASE("Client::stream: an exception from on_partial closes the connection") {
  StreamServer server;
  Client client(server.path());
  int calls = 0;
  CHECK_THROWS_AS(client.stream("stream", json{{"n", 100'000}, {"size", 100}},
                                [&](const json&) {
                                  if (++calls == 10) throw std::runtime_error("enough");
                                }),
                  std::runtime_error);
  CHECK(calls == 10);
  REQUIRE(wait_until([&] { return server.last() != nullptr; }));
  const auto p = server.last();
  CHECK(wait_until([&] { return !p->reply->client_alive(); }));
  CHECK(wait_until([&] { return p->done.load(); }));
  CHECK_FALSE(p->finished);
}
