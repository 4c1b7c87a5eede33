// Minimal HTTP/1.1 client (libcurl) for the Docker Engine API, over a Unix
// socket or TCP (with TLS client certificates, as `docker` uses
// DOCKER_HOST=tcp://... with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH). Keeps a
// pool of easy handles so connections are kept alive and reused; safe to use
// from several threads (each call takes a handle of its own).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace jobq {

struct HttpResponse {
  long status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // names lower-cased
};

// Where an engine's API answers.
struct EngineAddress {
  std::string socket_path;  // a Unix socket; "" for TCP
  std::string base_url;     // "http://HOST:PORT" or "https://HOST:PORT"; "" for a socket
  std::string ca_file;      // https: the CA that signed the engine's certificate
  std::string cert_file;    // https: this client's certificate and key
  std::string key_file;
  // "unix:///run/docker.sock", "tcp://10.0.0.5:2376 (TLS)"
  std::string describe() const;
};

// "unix:///path" or "tcp://HOST:PORT". With tls_dir (holding ca.pem,
// cert.pem and key.pem, as DOCKER_CERT_PATH does) a TCP address is spoken to
// over TLS, the engine's certificate checked against ca.pem (a socket needs
// none: tls_dir is not looked at). Throws
// std::invalid_argument for an address jobq cannot use (or a missing file).
EngineAddress parse_engine_address(const std::string& address, const std::string& tls_dir = "");

class UnixHttpClient {
 public:
  explicit UnixHttpClient(std::string socket_path);
  explicit UnixHttpClient(EngineAddress address);
  ~UnixHttpClient();
  UnixHttpClient(const UnixHttpClient&) = delete;
  UnixHttpClient& operator=(const UnixHttpClient&) = delete;

  // Throws std::runtime_error when the socket cannot be reached or the
  // transfer fails. `on_body`, when given, receives a 2xx body as it arrives
  // (and HttpResponse::body stays empty); other bodies land in `body`.
  // `keep_going`, when given, is asked every 100 ms at most; false aborts the
  // transfer (for endless streams such as /events). timeout_ms 0: no limit.
  // `headers`: more request headers, each "Name: value".
  HttpResponse request(const std::string& method, const std::string& path,
                       const std::string* json_body = nullptr, long timeout_ms = 60'000,
                       const std::function<void(std::string_view)>& on_body = {},
                       const std::function<bool()>& keep_going = {},
                       const std::vector<std::string>& headers = {});

  // "" when the engine is reached over TCP.
  const std::string& socket_path() const { return address_.socket_path; }

 private:
  void* acquire();
  void release(void* handle);

  EngineAddress address_;
  std::mutex mu_;
  std::vector<void*> idle_;
};

}  // namespace jobq
