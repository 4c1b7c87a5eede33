// http_post: webhook URL checks, and POSTs to a one-connection loopback
// listener on 127.0.0.1 (what arrived, which status came back, failures that
// come back as status 0 within the timeout).
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "notify/http_post.hpp"

using jobq::http_post_json;
using jobq::valid_webhook_url;
using std::chrono::milliseconds;

namespace {

std::string lowered(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

// A socket bound to 127.0.0.1 on a port of the kernel's choosing; listening
// only when asked (a bound socket that does not listen refuses connections).
class LoopbackSocket {
 public:
  explicit LoopbackSocket(bool listening) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    if (listening) REQUIRE(listen(fd_, 4) == 0);
    port_ = ntohs(addr.sin_port);
  }
  ~LoopbackSocket() { close(fd_); }
  LoopbackSocket(const LoopbackSocket&) = delete;
  LoopbackSocket& operator=(const LoopbackSocket&) = delete;

  int fd() const { return fd_; }
  std::string url(const std::string& path) const {
    return "http://127.0.0.1:" + std::to_string(port_) + path;
  }

 private:
  int fd_ = -1;
  unsigned port_ = 0;
};

// Accepts one connection, reads one request (head and Content-Length body),
// then sends `answer`, or, when `answer` is empty, holds the connection
// without answering until destroyed. Everything is bounded by a few seconds
// so that a broken client cannot hang the test.
class OneShotServer {
 public:
  explicit OneShotServer(std::string answer)
      : socket_(true), answer_(std::move(answer)), thread_([this] { serve(); }) {}
  ~OneShotServer() { stop(); }
  OneShotServer(const OneShotServer&) = delete;
  OneShotServer& operator=(const OneShotServer&) = delete;

  std::string url(const std::string& path) const { return socket_.url(path); }

  // The raw request (head and body); waits for the server thread to finish.
  const std::string& request() {
    stop();
    return request_;
  }

 private:
  void stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  // Waits for `fd` to be readable, for at most `ms` or until stop().
  bool readable(int fd, int ms) {
    for (int waited = 0; waited < ms && !stop_; waited += 50) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 50) > 0) return true;
    }
    return false;
  }

  void serve() {
    // The client has been started before we look at stop_ in earnest:
    // request() only stops the accept wait once the request is in.
    if (!readable(socket_.fd(), 5000)) return;
    const int fd = accept4(socket_.fd(), nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    std::string data;
    std::size_t want = std::string::npos;  // total bytes, once the head is in
    char buf[4096];
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (data.size() < want && std::chrono::steady_clock::now() < until) {
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      data.append(buf, static_cast<std::size_t>(n));
      const auto head_end = data.find("\r\n\r\n");
      if (want == std::string::npos && head_end != std::string::npos) {
        const std::string head = lowered(data.substr(0, head_end + 2));
        std::size_t length = 0;
        if (const auto at = head.find("\r\ncontent-length:"); at != std::string::npos)
          length = std::stoul(head.substr(at + 17));
        want = head_end + 4 + length;
      }
    }
    request_ = data;
    if (!answer_.empty()) {
      send(fd, answer_.data(), answer_.size(), MSG_NOSIGNAL);
      shutdown(fd, SHUT_WR);
    } else {
      while (!stop_) std::this_thread::sleep_for(milliseconds(20));
    }
    close(fd);
  }

  LoopbackSocket socket_;
  std::string answer_;
  std::string request_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

std::string head_of(const std::string& request) {
  return lowered(request.substr(0, request.find("\r\n\r\n") + 2));
}

std::string body_of(const std::string& request) {
  const auto at = request.find("\r\n\r\n");
  return at == std::string::npos ? std::string() : request.substr(at + 4);
}

std::size_t count(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST_CASE("valid_webhook_url accepts http and https URLs with a host") {
  CHECK(valid_webhook_url("http://example.com"));
  CHECK(valid_webhook_url("https://example.com/hooks/jobq?token=abc#frag"));
  CHECK(valid_webhook_url("HTTPS://Example.COM/x"));
  CHECK(valid_webhook_url("http://127.0.0.1:8080/hook"));
  CHECK(valid_webhook_url("http://[::1]:9000/"));
  CHECK(valid_webhook_url("https://user:secret@hooks.example.com/p"));
  CHECK(valid_webhook_url("http://h/" + std::string(2048 - 9, 'a')));  // exactly 2048 bytes
}

TEST_CASE("valid_webhook_url refuses other schemes, no host, spaces, controls, long URLs") {
  CHECK_FALSE(valid_webhook_url(""));
  CHECK_FALSE(valid_webhook_url("example.com/hook"));
  CHECK_FALSE(valid_webhook_url("ftp://example.com/"));
  CHECK_FALSE(valid_webhook_url("file:///etc/passwd"));
  CHECK_FALSE(valid_webhook_url("javascript:alert(1)"));
  CHECK_FALSE(valid_webhook_url("http:/example.com"));
  CHECK_FALSE(valid_webhook_url("http://"));
  CHECK_FALSE(valid_webhook_url("https://:443/"));
  CHECK_FALSE(valid_webhook_url("http:///path"));
  CHECK_FALSE(valid_webhook_url("http://?x=1"));
  CHECK_FALSE(valid_webhook_url("http://\\\\evil/"));
  CHECK_FALSE(valid_webhook_url("http://exa mple.com/"));
  CHECK_FALSE(valid_webhook_url(" http://example.com/"));
  CHECK_FALSE(valid_webhook_url("http://example.com/\n"));
  CHECK_FALSE(valid_webhook_url("http://example.com/\tx"));
  CHECK_FALSE(valid_webhook_url("http://example.com/\x7f"));
  CHECK_FALSE(valid_webhook_url(std::string_view("http://a\0b/", 11)));
  CHECK_FALSE(valid_webhook_url("http://example.com:99999/"));
  CHECK_FALSE(valid_webhook_url("http://h/" + std::string(2048 - 8, 'a')));  // 2049 bytes
}

TEST_CASE("http_post_json sends the body as JSON and returns the status") {
  OneShotServer server("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n");
  const std::string body = R"({"event":"job.finished","job":42})";
  const auto result = http_post_json(server.url("/hook?x=1"), body, {"X-Jobq-Event: job.finished"},
                                     milliseconds(5000));
  CHECK(result.status == 204);
  CHECK(result.error.empty());
  CHECK(result.body_head.empty());
  const std::string& request = server.request();
  const std::string head = head_of(request);
  CHECK(request.rfind("POST /hook?x=1 HTTP/1.1\r\n", 0) == 0);
  CHECK(count(head, "\r\ncontent-type:") == 1);
  CHECK(head.find("\r\ncontent-type: application/json\r\n") != std::string::npos);
  CHECK(head.find("\r\nuser-agent: jobq/") != std::string::npos);
  CHECK(head.find("\r\nx-jobq-event: job.finished\r\n") != std::string::npos);
  CHECK(body_of(request) == body);
}

TEST_CASE("http_post_json returns an error status with the head of its body") {
  const std::string error_body(2000, 'e');
  OneShotServer server("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2000\r\n\r\n" +
                       error_body);
  // A body big enough that libcurl would otherwise ask "Expect: 100-continue".
  const std::string body = "\"" + std::string(4000, 'x') + "\"";
  const auto result = http_post_json(server.url("/"), body, {}, milliseconds(5000));
  CHECK(result.status == 500);
  CHECK(result.error.empty());
  CHECK(result.body_head == error_body.substr(0, jobq::kHttpPostBodyHeadMax));
  const std::string& request = server.request();
  CHECK(head_of(request).find("\r\nexpect:") == std::string::npos);
  CHECK(body_of(request) == body);
}

TEST_CASE("http_post_json lets headers replace the Content-Type and does not follow redirects") {
  OneShotServer server(
      "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/\r\nContent-Length: 0\r\n\r\n");
  const auto result = http_post_json(
      server.url("/"), "{}", {"Content-Type: application/cloudevents+json"}, milliseconds(5000));
  CHECK(result.status == 302);
  const std::string head = head_of(server.request());
  CHECK(count(head, "\r\ncontent-type:") == 1);
  CHECK(head.find("\r\ncontent-type: application/cloudevents+json\r\n") != std::string::npos);
}

TEST_CASE("http_post_json reports a refused connection as status 0 with an error") {
  LoopbackSocket closed(false);  // bound, not listening: connections are refused
  const auto start = std::chrono::steady_clock::now();
  const auto result = http_post_json(closed.url("/"), "{}", {}, milliseconds(2000));
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(result.status == 0);
  CHECK_FALSE(result.error.empty());
  CHECK(result.body_head.empty());
  CHECK(took < milliseconds(3000));
}

TEST_CASE("http_post_json gives up on a silent server within the timeout") {
  OneShotServer server("");  // reads the request, never answers
  const auto start = std::chrono::steady_clock::now();
  const auto result = http_post_json(server.url("/"), "{}", {}, milliseconds(300));
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(result.status == 0);
  CHECK_FALSE(result.error.empty());
  CHECK(took >= milliseconds(250));
  CHECK(took < milliseconds(2000));
}

TEST_CASE("http_post_json refuses bad arguments without sending anything") {
  const auto injected =
      http_post_json("http://127.0.0.1:1/", "{}", {"X-A: b\r\nX-Evil: 1"}, milliseconds(1000));
  CHECK(injected.status == 0);
  CHECK_FALSE(injected.error.empty());
  const auto no_time = http_post_json("http://127.0.0.1:1/", "{}", {}, milliseconds(0));
  CHECK(no_time.status == 0);
  CHECK_FALSE(no_time.error.empty());
  const auto ftp = http_post_json("ftp://127.0.0.1:1/", "{}", {}, milliseconds(1000));
  CHECK(ftp.status == 0);
  CHECK_FALSE(ftp.error.empty());
}
