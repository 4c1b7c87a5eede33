// The CLI's side of the socket: connect, send one request, read one reply.
// Errors: ClientError (cannot reach jobqd) or ProtocolError (jobqd refused).
#pragma once

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "protocol.hpp"

namespace jobq {

class ClientError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The connection broke after the request was sent (jobqd stopped or
// restarted): the request may or may not have taken effect.
class ConnectionLost : public ClientError {
 public:
  using ClientError::ClientError;
};

class Client {
 public:
  explicit Client(std::string socket_path) : path_(std::move(socket_path)) {}
  // Sends {cmd, args}; returns the result or throws. No timeout by default
  // (wait may take as long as the job).
  nlohmann::json call(const std::string& cmd, const nlohmann::json& args = nlohmann::json::object(),
                      std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  const std::string& socket_path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace jobq
