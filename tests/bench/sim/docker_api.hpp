// The Docker Engine API of engine_sim, on top of the container model: the
// calls jobqd makes (ping, version, info, events; containers: create, list,
// inspect, start, stop, kill, logs, remove; images: a pull says the image is
// there, an inspect finds any), under /vX.Y/ prefixes or none. A client
// version above `api` is refused (400), as dockerd does; every reply carries
// dockerd's headers (reply_headers). Create and start wait latency_ms first.
// docker_api.cpp routes and answers the calls; docker_streams.cpp streams
// logs and events.
#pragma once

#include <string>
#include <utility>

#include "container_model.hpp"
#include "http_server.hpp"

namespace sim {

constexpr const char* kEngineVersion = "24.0.0-sim";

struct ApiOptions {
  std::string api = "1.41";  // the highest API version served
  long latency_ms = 0;       // added to each create and start
};

class DockerApi {
 public:
  DockerApi(State& st, ApiOptions opts) : st_(st), opts_(std::move(opts)) {}

  // The "Name: value\r\n" lines of dockerd's replies (http::Service::extra_headers).
  std::string reply_headers() const;
  // Answers one request (an http::Handler); false: close the connection.
  bool handle(http::Connection& conn, const http::Request& r);

 private:
  void simulated_latency() const;
  http::Response handle_version() const;
  http::Response handle_info();
  http::Response handle_create(const http::Request& r);
  http::Response handle_start(const std::string& key);
  http::Response handle_inspect(const std::string& key);
  http::Response handle_stop(const std::string& key);
  http::Response handle_kill(const std::string& key);
  http::Response handle_remove(const http::Request& r, const std::string& key);
  http::Response handle_list(const http::Request& r);
  bool handle_logs(http::Connection& conn, const http::Request& r, const std::string& key,
                   const std::string& version);
  bool handle_events(http::Connection& conn, const http::Request& r);

  State& st_;
  const ApiOptions opts_;
};

// Docker's conventions, shared by the handlers.
// "1.41" < "1.9" is false: versions compare as numbers, part by part.
int compare_versions(const std::string& a, const std::string& b);
// Docker's boolValue: anything but "", "0", "no", "false", "none".
bool flag(const http::Request& r, const std::string& key);
// {"message": ...}, as dockerd words its errors.
http::Response error(int status, const std::string& message);
std::string no_such(const std::string& key);

}  // namespace sim
