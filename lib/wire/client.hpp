// The CLI's side of the socket: connect, send one request, read one reply
// (call) or a streamed reply: partial lines, then the final one (stream).
// Errors: ClientError (cannot reach jobqd) or ProtocolError (jobqd refused).
// Connecting tries each of its socket paths in order and takes the first
// where jobqd answers; while none does (no socket, connection refused, a full
// backlog: jobqd restarting), it tries again until `retry_for` has passed.
// Only connecting is retried: a request once sent is never sent again.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "wire/protocol.hpp"

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

// Where and how long to look for jobqd.
struct ConnectOptions {
  std::vector<std::string> paths;          // in order; the first that answers is used
  std::chrono::milliseconds retry_for{0};  // 0: fail at once
  // Told once per call, when the first try failed and retrying begins.
  std::function<void(const std::string& message)> on_retry;
};

class Client {
 public:
  explicit Client(std::string socket_path) { options_.paths.push_back(std::move(socket_path)); }
  explicit Client(ConnectOptions options) : options_(std::move(options)) {}
  // Sends {cmd, args}; returns the result or throws. No timeout by default
  // (wait may take as long as the job).
  nlohmann::json call(const std::string& cmd, const nlohmann::json& args = nlohmann::json::object(),
                      std::optional<std::chrono::milliseconds> timeout = std::nullopt);
  // Sends {cmd, args}; calls on_partial with the result of each partial line
  // as it arrives, then returns the final result or throws like call(). No
  // timeout (a followed stream lasts as long as its job). An exception from
  // on_partial ends the stream (the connection is closed) and propagates.
  nlohmann::json stream(
      const std::string& cmd, const nlohmann::json& args,
      const std::function<void(const nlohmann::json& partial_result)>& on_partial);

 private:
  // A connected socket, or throws ClientError saying every place it looked.
  int connect_any();
  // One try at `path`: the socket, or -1 when jobqd is not (yet) there.
  int try_connect(const std::string& path);

  using PartialFn = std::function<void(const nlohmann::json&)>;
  // call() and stream(): on_partial null refuses partial lines.
  nlohmann::json exchange(const std::string& cmd, const nlohmann::json& args,
                          std::optional<std::chrono::milliseconds> timeout,
                          const PartialFn* on_partial);

  ConnectOptions options_;
};

}  // namespace jobq
