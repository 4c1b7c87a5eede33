// registry_auth: the registry of an image as Docker's client names it, and
// credentials from a Docker config file (auths, credHelpers, credsStore),
// encoded as the X-Registry-Auth header; pull_reference and the lines of a
// pull's stream; DockerEngine's pull and image inspect against a scripted
// engine (the header sent, an error inside a 200 stream).
#include <doctest/doctest.h>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/base64.hpp"
#include "runtime/docker/docker_engine.hpp"
#include "runtime/docker/docker_json.hpp"
#include "runtime/docker/registry_auth.hpp"
#include "test_support.hpp"
#include "wire/protocol.hpp"

using nlohmann::json;

namespace {

void write_file(const std::string& path, const std::string& text, mode_t mode = 0600) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), mode);
}

json decode_header(std::string h) {
  for (char& c : h) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  const auto text = jobq::base64_decode(h);
  REQUIRE(text.has_value());
  return json::parse(*text);
}

}  // namespace

TEST_CASE("the registry of an image is named as Docker's client names it") {
  using jobq::registry_of;
  CHECK(registry_of("busybox") == "https://index.docker.io/v1/");
  CHECK(registry_of("library/busybox:1") == "https://index.docker.io/v1/");
  CHECK(registry_of("docker.io/library/busybox") == "https://index.docker.io/v1/");
  CHECK(registry_of("127.0.0.1:5000/jobq-test/x:1") == "127.0.0.1:5000");
  CHECK(registry_of("localhost/x") == "localhost");
  CHECK(registry_of("ghcr.io/o/r@sha256:abc") == "ghcr.io");
}

TEST_CASE("pull_reference splits name and tag as docker pull does (never an empty tag)") {
  using P = std::pair<std::string, std::string>;
  CHECK(jobq::pull_reference("busybox") == P{"busybox", "latest"});
  CHECK(jobq::pull_reference("127.0.0.1:5000/a/b:2") == P{"127.0.0.1:5000/a/b", "2"});
  CHECK(jobq::pull_reference("127.0.0.1:5000/a/b") == P{"127.0.0.1:5000/a/b", "latest"});
  CHECK(jobq::pull_reference("a/b:1@sha256:ff") == P{"a/b", "sha256:ff"});
}

TEST_CASE("a pull stream's lines: progress, and the error Docker reports inside a 200") {
  auto l = jobq::parse_pull_line(
      R"({"status":"Downloading","progressDetail":{"current":10,"total":40},"progress":"[=> ]","id":"abc"})");
  REQUIRE(l.progress.has_value());
  CHECK(l.progress->id == "abc");
  CHECK(l.progress->status == "Downloading");
  CHECK(l.progress->current == 10);
  CHECK(l.progress->total == 40);
  CHECK_FALSE(l.error.has_value());
  l = jobq::parse_pull_line(
      R"({"errorDetail":{"message":"manifest for x:1 not found"},"error":"manifest for x:1 not found"})");
  REQUIRE(l.error.has_value());
  CHECK(*l.error == "manifest for x:1 not found");
  CHECK_FALSE(jobq::parse_pull_line("not json").progress.has_value());
}

TEST_CASE("credentials from auths: base64 user:password, matched exactly or by host name") {
  jobq::test::TempDir dir;
  const std::string cfg = dir.file("config.json");
  write_file(cfg, R"({"auths": {
      "https://127.0.0.1:5000/v2/": {"auth": ")" +
                      jobq::base64_encode("alice:s3:cret") + R"("},
      "https://index.docker.io/v1/": {"auth": ")" +
                      jobq::base64_encode("hub:pw") + R"("},
      "other.example": {"identitytoken": "tok"}}})");
  auto found = jobq::find_credentials(cfg, "127.0.0.1:5000");
  REQUIRE(found.credentials.has_value());
  CHECK(found.credentials->username == "alice");
  CHECK(found.credentials->password == "s3:cret");
  CHECK(found.warning.empty());
  const json h = decode_header(jobq::registry_auth_header(*found.credentials));
  CHECK(h ==
        json{{"username", "alice"}, {"password", "s3:cret"}, {"serveraddress", "127.0.0.1:5000"}});

  found = jobq::find_credentials(cfg, "https://index.docker.io/v1/");
  REQUIRE(found.credentials.has_value());
  CHECK(found.credentials->username == "hub");

  found = jobq::find_credentials(cfg, "other.example");
  REQUIRE(found.credentials.has_value());
  CHECK(decode_header(jobq::registry_auth_header(*found.credentials)) ==
        json{{"identitytoken", "tok"}, {"serveraddress", "other.example"}});

  CHECK_FALSE(jobq::find_credentials(cfg, "unknown:1").credentials.has_value());
  CHECK_FALSE(
      jobq::find_credentials(dir.file("none.json"), "127.0.0.1:5000").credentials.has_value());
  write_file(cfg, "{not json");
  CHECK_FALSE(jobq::find_credentials(cfg, "127.0.0.1:5000").warning.empty());
}

TEST_CASE("credentials from a credential helper (credHelpers, then credsStore)") {
  jobq::test::TempDir dir;
  // A helper that answers for one registry, as docker-credential-* do.
  write_file(
      dir.file("docker-credential-fake"),
      "#!/bin/sh\n"
      "[ \"$1\" = get ] || exit 2\n"
      "read server\n"
      "if [ \"$server\" = reg.example:5000 ]; then\n"
      "  echo '{\"ServerURL\":\"reg.example:5000\",\"Username\":\"bob\",\"Secret\":\"pw\"}'\n"
      "else echo 'credentials not found in native keychain'; exit 1; fi\n",
      0755);
  const std::string old_path = std::getenv("PATH") ? std::getenv("PATH") : "";
  ::setenv("PATH", (dir.file("") + ":" + old_path).c_str(), 1);
  const std::string cfg = dir.file("config.json");
  write_file(cfg,
             R"({"credHelpers": {"reg.example:5000": "fake"}, "credsStore": "missing-helper"})");
  auto found = jobq::find_credentials(cfg, "reg.example:5000");
  REQUIRE(found.credentials.has_value());
  CHECK(found.credentials->username == "bob");
  CHECK(found.credentials->password == "pw");
  CHECK(found.source == "docker-credential-fake");
  // Other registries go to credsStore, whose helper is not installed: said.
  found = jobq::find_credentials(cfg, "elsewhere:5000");
  CHECK_FALSE(found.credentials.has_value());
  CHECK(found.warning.find("docker-credential-missing-helper") != std::string::npos);
  // The helper knows nothing of it: no credentials, and nothing to warn about.
  write_file(cfg, R"({"credsStore": "fake"})");
  found = jobq::find_credentials(cfg, "elsewhere:5000");
  CHECK_FALSE(found.credentials.has_value());
  CHECK(found.warning.empty());
  write_file(cfg, R"({"credsStore": "../../bin/sh"})");
  CHECK(jobq::find_credentials(cfg, "elsewhere:5000").warning.find("not a plain name") !=
        std::string::npos);
  ::setenv("PATH", old_path.c_str(), 1);
}

namespace {

// Answers each connection's one request from a script: /_ping, then the
// given status and body for everything else; keeps the requests it read.
struct ScriptedEngine {
  int listener = -1;
  std::thread thread;
  std::mutex mu;
  std::vector<std::string> requests;
  int status = 200;
  std::string body;
  std::atomic<bool> done{false};

  explicit ScriptedEngine(const std::string& path) {
    listener = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listener >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listener, 8) == 0);
    thread = std::thread([this] {
      for (;;) {
        const int c = ::accept(listener, nullptr, nullptr);
        if (c < 0 || done) {
          if (c >= 0) ::close(c);
          return;
        }
        std::string req;
        char buf[4096];
        while (req.find("\r\n\r\n") == std::string::npos) {
          const auto n = ::read(c, buf, sizeof buf);
          if (n <= 0) break;
          req.append(buf, static_cast<std::size_t>(n));
        }
        std::string out;
        if (req.rfind("GET /_ping", 0) == 0) {
          out =
              "HTTP/1.1 200 OK\r\nApi-Version: 1.41\r\nContent-Length: 2\r\nConnection: "
              "close\r\n\r\nOK";
        } else {
          std::lock_guard l(mu);
          requests.push_back(req);
          out = "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\n" +
                "Content-Length: " + std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" +
                body;
        }
        (void)::write(c, out.data(), out.size());
        ::close(c);
      }
    });
  }
  ~ScriptedEngine() {
    done = true;
    ::shutdown(listener, SHUT_RDWR);
    ::close(listener);
    thread.join();
  }
  std::string last() {
    std::lock_guard l(mu);
    return requests.empty() ? "" : requests.back();
  }
};

}  // namespace

TEST_CASE(
    "DockerEngine pulls with the tag split off and X-Registry-Auth, and reports Docker's errors") {
  jobq::test::TempDir dir;
  const std::string sock = dir.file("d.sock");
  ScriptedEngine server(sock);
  jobq::DockerEngine engine(sock);
  server.body =
      "{\"status\":\"Pulling from jobq-test/x\",\"id\":\"1\"}\r\n"
      "{\"status\":\"Downloading\",\"progressDetail\":{\"current\":5,\"total\":9},\"id\":\"abc\"}"
      "\r\n"
      "{\"status\":\"Status: Downloaded newer image for 127.0.0.1:5000/jobq-test/x:1\"}\r\n";
  std::vector<jobq::PullProgress> seen;
  engine.pull(
      "127.0.0.1:5000/jobq-test/x:1", "SECRET",
      [&](const jobq::PullProgress& p) { seen.push_back(p); }, [] { return true; });
  const std::string req = server.last();
  CHECK(req.rfind("POST /v1.41/images/create?fromImage=127.0.0.1%3A5000%2Fjobq-test%2Fx&tag=1 ",
                  0) == 0);
  CHECK(req.find("X-Registry-Auth: SECRET\r\n") != std::string::npos);
  REQUIRE(seen.size() == 3);
  CHECK(seen[1].current == 5);

  // An anonymous pull sends no header; an error inside the 200 stream throws.
  server.body =
      "{\"status\":\"Pulling from jobq-test/x\",\"id\":\"1\"}\r\n"
      "{\"errorDetail\":{\"message\":\"no basic auth credentials\"},\"error\":\"no basic auth "
      "credentials\"}\r\n";
  CHECK_THROWS_WITH_AS(engine.pull("127.0.0.1:5000/jobq-test/x:1", "", {}, {}),
                       doctest::Contains("no basic auth credentials"), jobq::EngineError);
  CHECK(server.last().find("X-Registry-Auth") == std::string::npos);

  // An error before the stream: Docker's message from the JSON body.
  server.status = 404;
  server.body = R"({"message":"pull access denied for nope, repository does not exist"})";
  CHECK_THROWS_WITH_AS(engine.pull("nope", "", {}, {}),
                       doctest::Contains("pull access denied for nope"), jobq::EngineError);
  CHECK(server.last().find("fromImage=nope&tag=latest") != std::string::npos);

  // Image inspect: 404 is "not there", 200 is there.
  CHECK_FALSE(engine.has_image("127.0.0.1:5000/jobq-test/x:1"));
  CHECK(server.last().rfind("GET /v1.41/images/127.0.0.1:5000/jobq-test/x:1/json ", 0) == 0);
  server.status = 200;
  server.body = R"({"Id":"sha256:0"})";
  CHECK(engine.has_image("busybox"));
}
