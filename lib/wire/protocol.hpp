// The jobq wire protocol (PROTOCOL.md is its full description).
// Newline-delimited JSON over a Unix stream socket: one request line,
// one response line.
//   request:  {"v": 1, "cmd": "enqueue", "args": {...}}
//   success:  {"v": 1, "ok": true, "result": {...}}
//   failure:  {"v": 1, "ok": false, "error": {"code": "not_found", "message": "..."}}
//   partial:  {"v": 1, "ok": true, "more": true, "result": {...}}  (a streamed
//             reply: more lines follow; the last is a success or a failure)
// Bump kProtocolVersion when a request or response changes incompatibly;
// adding an optional field is compatible.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "model/model.hpp"

namespace jobq {

inline constexpr int kProtocolVersion = 1;
// Bumped when commands or fields are added compatibly (a newer CLI may ask
// for something an older jobqd does not know): the CLI warns, once.
// 3: list pages, wait answers per distinct id; 4: jobs' pending_reason and
// numeric times (*_ns, run_ms, queue_ms), list filters (states, user,
// labels, since), update.
inline constexpr int kProtocolRevision = 4;
inline constexpr std::size_t kMaxRequestBytes = 1 << 20;      // one request line, by default
inline constexpr std::size_t kMaxRequestLimit = 64u << 20;    // the most jobqd --max-request allows
inline constexpr std::size_t kMaxResponseBytes = 256u << 20;  // what a client accepts
inline constexpr std::size_t kMaxMessageBytes = 100'000;      // JOBQ_MESSAGE (env var)
inline constexpr int kMaxJsonDepth = 64;                      // nesting of any JSON we take

enum class ErrorCode {
  bad_request,          // malformed JSON, wrong types, unknown command or field
  unsupported_version,  // protocol version mismatch
  not_found,            // no such job or application
  forbidden,            // the caller's role does not allow it
  conflict,             // exists already, already finished, still in use
  too_large,            // request line or field over its limit
  timeout,              // a wait ran out of time
  engine,               // the container engine failed or is unreachable
  unavailable,          // daemon busy or shutting down
  internal,             // a bug or a storage failure in the daemon
};

std::string_view to_string(ErrorCode c);
std::optional<ErrorCode> parse_error_code(std::string_view s);

class ProtocolError : public std::runtime_error {
 public:
  ProtocolError(ErrorCode code, const std::string& what) : std::runtime_error(what), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

struct Request {
  std::string cmd;
  nlohmann::json args = nlohmann::json::object();
};

// Throws ProtocolError for anything that is not a well-formed request
// (too_large past max_bytes: jobqd passes its --max-request).
Request parse_request(std::string_view line, std::size_t max_bytes = kMaxRequestBytes);
std::string encode_request(const Request& r);  // with the trailing newline

std::string encode_ok(const nlohmann::json& result);
std::string encode_error(ErrorCode code, std::string_view message);
// One partial line of a streamed reply (with the trailing newline).
std::string encode_partial(const nlohmann::json& result);
// Client side: the result of a success, or throws ProtocolError.
nlohmann::json decode_response(std::string_view line);
// Client side, for streamed replies: the result and whether more lines follow
// (a partial line), or throws ProtocolError for a failure.
struct ResponseFrame {
  nlohmann::json result;
  bool more = false;
};
ResponseFrame decode_response_frame(std::string_view line);
// Called with the protocol revision and jobqd version of every reply decoded
// (the CLI warns once when the revision is not its own). Set once, at start.
void on_server_revision(std::function<void(int revision, const std::string& server)> f);

// Reads typed fields out of a request's args, refusing unknown fields and
// wrong types with a message that names the field.
class ArgReader {
 public:
  ArgReader(const nlohmann::json& args, std::vector<std::string_view> allowed);
  std::optional<std::string> string(const char* key);
  std::string required_string(const char* key);
  std::optional<std::int64_t> integer(const char* key);
  std::optional<bool> boolean(const char* key);
  std::optional<std::vector<std::string>> string_list(const char* key);
  std::optional<std::map<std::string, std::string>> string_map(const char* key);
  std::optional<std::vector<std::int64_t>> integer_list(const char* key);
  const nlohmann::json* raw(const char* key);

 private:
  const nlohmann::json& args_;
};

// How deeply arrays and objects nest in a JSON text (a linear scan that
// does not parse; strings and escapes are skipped). Deep nesting would cost
// stack in every later copy or dump of the value, so it is refused early.
int json_depth(std::string_view text);

// The strings users type in: env names, label keys, application names.
bool valid_env_name(std::string_view s);
bool valid_app_name(std::string_view s);
bool valid_label_key(std::string_view s);

}  // namespace jobq
