// Where jobq looks for jobqd (client_socket_paths) and how Client connects:
// the first place that answers, retried for a while, every place named when
// none does.
#include <doctest/doctest.h>

#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/paths.hpp"
#include "server/socket_server.hpp"
#include "test_support.hpp"
#include "wire/client.hpp"
#include "wire/protocol.hpp"

using jobq::Client;
using jobq::ClientError;
using jobq::ConnectOptions;
using jobq::test::TempDir;
using nlohmann::json;

namespace {

// Sets (or, with nullopt, unsets) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, std::optional<std::string> value) : name_(name) {
    if (const char* old = ::getenv(name)) old_ = old;
    if (value)
      ::setenv(name, value->c_str(), 1);
    else
      ::unsetenv(name);
  }
  ~ScopedEnv() {
    if (old_)
      ::setenv(name_, old_->c_str(), 1);
    else
      ::unsetenv(name_);
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  const char* name_;
  std::optional<std::string> old_;
};

// A jobqd stand-in answering every request with its args.
class EchoServer {
 public:
  explicit EchoServer(std::string path) {
    jobq::SocketServer::Options o;
    o.path = std::move(path);
    server_ = std::make_unique<jobq::SocketServer>(
        o, [](std::string line, const jobq::PeerCred&, jobq::Responder reply) {
          reply(jobq::encode_ok(jobq::parse_request(line).args));
        });
    server_->listen();
    loop_ = std::thread([this] { server_->run(stop_); });
  }
  ~EchoServer() {
    stop_ = true;
    server_->wake();
    loop_.join();
  }
  EchoServer(const EchoServer&) = delete;
  EchoServer& operator=(const EchoServer&) = delete;

 private:
  std::unique_ptr<jobq::SocketServer> server_;
  std::atomic<bool> stop_{false};
  std::thread loop_;
};

// A socket file nobody listens on any more (a jobqd that died): ECONNREFUSED.
void stale_socket(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0);
  ::close(fd);
}

}  // namespace

TEST_CASE(
    "client_socket_paths: the option, else $JOBQ_SOCKET, else the user's own then the system's") {
  ScopedEnv xdg("XDG_RUNTIME_DIR", "/run/user/4242");
  ScopedEnv system_env("JOBQ_TEST_SYSTEM_SOCKET", "/srv/sys/jobq.sock");
  {
    ScopedEnv env("JOBQ_SOCKET", "/env/jobq.sock");
    CHECK(jobq::client_socket_paths("/opt/jobq.sock") ==
          std::vector<std::string>{"/opt/jobq.sock"});
    CHECK(jobq::client_socket_paths("") == std::vector<std::string>{"/env/jobq.sock"});
  }
  ScopedEnv env("JOBQ_SOCKET", std::nullopt);
  const auto paths = jobq::client_socket_paths("");
  REQUIRE(paths.size() == 2);
  CHECK(paths[0] == jobq::default_socket_path());
  if (::geteuid() != 0) CHECK(paths[0] == "/run/user/4242/jobq/jobq.sock");
  CHECK(paths[1] == "/srv/sys/jobq.sock");
  CHECK(jobq::system_socket_path() == "/srv/sys/jobq.sock");
  {
    ScopedEnv real_system("JOBQ_TEST_SYSTEM_SOCKET", std::nullopt);
    CHECK(jobq::system_socket_path() == "/run/jobq/jobq.sock");
    CHECK(jobq::client_socket_paths("").back() == "/run/jobq/jobq.sock");
  }
}

TEST_CASE("Client takes the first place where jobqd answers, past a stale or missing socket") {
  TempDir dir;
  stale_socket(dir.file("stale.sock"));
  EchoServer server(dir.file("system.sock"));
  Client client(ConnectOptions{
      {dir.file("missing.sock"), dir.file("stale.sock"), dir.file("system.sock")}, {}, {}});
  CHECK(client.call("echo", json{{"x", 1}}, std::chrono::seconds(5)) == json{{"x", 1}});
}

TEST_CASE("Client names every place it looked when jobqd answers at none") {
  TempDir dir;
  stale_socket(dir.file("stale.sock"));
  int told = 0;
  Client client(ConnectOptions{{dir.file("own.sock"), dir.file("stale.sock")},
                               std::chrono::milliseconds(0),
                               [&](const std::string&) { ++told; }});
  const auto began = std::chrono::steady_clock::now();
  try {
    client.call("echo");
    FAIL("connected to nothing");
  } catch (const ClientError& e) {
    const std::string what = e.what();
    CHECK(what.find("not running at " + dir.file("own.sock") + " or at " +
                    dir.file("stale.sock")) != std::string::npos);
    CHECK(what.find("tried for") == std::string::npos);
  }
  CHECK(std::chrono::steady_clock::now() - began < std::chrono::milliseconds(500));
  CHECK(told == 0);  // 0 fails at once, without retrying
}

TEST_CASE("Client keeps trying to connect for retry_for, says so once, then names the time") {
  TempDir dir;
  const std::string path = dir.file("late.sock");
  SUBCASE("jobqd comes up in time: the call goes through") {
    std::vector<std::string> told;
    std::unique_ptr<EchoServer> server;
    std::thread starter([&] {
      std::this_thread::sleep_for(std::chrono::milliseconds(600));
      server = std::make_unique<EchoServer>(path);
    });
    Client client(ConnectOptions{
        {path}, std::chrono::seconds(10), [&](const std::string& m) { told.push_back(m); }});
    const json r = client.call("echo", json{{"late", true}}, std::chrono::seconds(5));
    starter.join();
    CHECK(r == json{{"late", true}});
    REQUIRE(told.size() == 1);
    CHECK(told[0].find("trying again for up to 10 s") != std::string::npos);
  }
  SUBCASE("it does not: ClientError after about retry_for, naming it") {
    Client client(ConnectOptions{{path}, std::chrono::milliseconds(1200), {}});
    const auto began = std::chrono::steady_clock::now();
    try {
      client.call("echo");
      FAIL("connected to nothing");
    } catch (const ClientError& e) {
      CHECK(std::string(e.what()).find("(tried for 1 s)") != std::string::npos);
    }
    const auto took = std::chrono::steady_clock::now() - began;
    CHECK(took >= std::chrono::milliseconds(1200));
    CHECK(took < std::chrono::seconds(3));
  }
}
