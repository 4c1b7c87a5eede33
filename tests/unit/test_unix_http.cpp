// unix_http: a streamed request that keep_going ends returns promptly, even
// when the server sends nothing more (jobqd's shutdown waits on such calls).
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

#include "runtime/docker/unix_http.hpp"
#include "test_support.hpp"

namespace {
// Reads one request and answers nothing, not even the head, as dockerd's
// /events does until the first event; holds the connection until destroyed.
struct SilentStreamServer {
  int listener = -1;
  int conn = -1;
  std::thread thread;
  explicit SilentStreamServer(const std::string& path) {
    listener = ::socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(listener >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listener, 1) == 0);
    thread = std::thread([this] {
      conn = ::accept(listener, nullptr, nullptr);
      if (conn < 0) return;
      char buf[4096];
      (void)::read(conn, buf, sizeof buf);  // the request (small: one read)
    });
  }
  ~SilentStreamServer() {
    if (thread.joinable()) thread.join();
    if (conn >= 0) ::close(conn);
    ::close(listener);
  }
};
}  // namespace

TEST_CASE("a stream ended by keep_going returns within a fraction of a second") {
  jobq::test::TempDir dir;
  const std::string path = dir.file("engine.sock");
  SilentStreamServer server(path);
  jobq::UnixHttpClient client(path);
  std::atomic<int> chunks{0};
  const auto began = std::chrono::steady_clock::now();
  // Quiet for a while first: the first moments of a transfer are busier.
  const auto stop_at = began + std::chrono::milliseconds(1500);
  std::string error;
  try {
    client.request(
        "GET", "/events", nullptr, 0, [&](std::string_view) { ++chunks; },
        [&] { return std::chrono::steady_clock::now() < stop_at; });
  } catch (const std::runtime_error& e) {
    error = e.what();
  }
  const auto took = std::chrono::steady_clock::now() - began;
  CHECK(chunks.load() == 0);
  CHECK_FALSE(error.empty());  // aborted, not a normal end
  // libcurl alone asks its progress callback about once a second when the
  // connection is quiet; the stream must not wait for that.
  CHECK(took < std::chrono::milliseconds(1500 + 500));
}

TEST_CASE("an exception from keep_going ends the stream and reaches the caller") {
  jobq::test::TempDir dir;
  const std::string path = dir.file("engine.sock");
  SilentStreamServer server(path);
  jobq::UnixHttpClient client(path);
  CHECK_THROWS_WITH_AS(client.request(
                           "GET", "/events", nullptr, 0, [](std::string_view) {},
                           []() -> bool { throw std::logic_error("from keep_going"); }),
                       "from keep_going", std::logic_error);
}
