// Minimal HTTP/1.1 client over a Unix socket (libcurl), for the Docker Engine
// API. Keeps a pool of easy handles so connections are kept alive and reused;
// safe to use from several threads (each call takes a handle of its own).
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

class UnixHttpClient {
 public:
  explicit UnixHttpClient(std::string socket_path);
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

  const std::string& socket_path() const { return socket_path_; }

 private:
  void* acquire();
  void release(void* handle);

  std::string socket_path_;
  std::mutex mu_;
  std::vector<void*> idle_;
};

}  // namespace jobq
