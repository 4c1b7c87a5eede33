// The CLI's side of the socket: connect, send one request, read one reply
// (call) or a streamed reply: partial lines, then the final one (stream).
// Errors: ClientError (cannot reach jobqd) or ProtocolError (jobqd refused).
#pragma once

#include <chrono>
#include <functional>
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
  // Sends {cmd, args}; calls on_partial with the result of each partial line
  // as it arrives, then returns the final result or throws like call(). No
  // timeout (a followed stream lasts as long as its job). An exception from
  // on_partial ends the stream (the connection is closed) and propagates.
  nlohmann::json stream(const std::string& cmd, const nlohmann::json& args,
                        const std::function<void(const nlohmann::json& partial_result)>& on_partial);
  const std::string& socket_path() const { return path_; }

 private:
  using PartialFn = std::function<void(const nlohmann::json&)>;
  // call() and stream(): on_partial null refuses partial lines.
  nlohmann::json exchange(const std::string& cmd, const nlohmann::json& args,
                          std::optional<std::chrono::milliseconds> timeout,
                          const PartialFn* on_partial);

  std::string path_;
};

}  // namespace jobq
