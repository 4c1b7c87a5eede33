#include "wire/protocol.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

namespace jobq {

using nlohmann::json;

namespace {
constexpr std::array<std::pair<ErrorCode, std::string_view>, 10> kCodes{{
    {ErrorCode::bad_request, "bad_request"},
    {ErrorCode::unsupported_version, "unsupported_version"},
    {ErrorCode::not_found, "not_found"},
    {ErrorCode::forbidden, "forbidden"},
    {ErrorCode::conflict, "conflict"},
    {ErrorCode::too_large, "too_large"},
    {ErrorCode::timeout, "timeout"},
    {ErrorCode::engine, "engine"},
    {ErrorCode::unavailable, "unavailable"},
    {ErrorCode::internal, "internal"},
}};

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string type_name(const json& v) {
  return v.type_name();
}
}  // namespace

std::string_view to_string(ErrorCode c) {
  for (const auto& [code, name] : kCodes)
    if (code == c) return name;
  return "internal";
}

std::optional<ErrorCode> parse_error_code(std::string_view s) {
  for (const auto& [code, name] : kCodes)
    if (name == s) return code;
  return std::nullopt;
}

Request parse_request(std::string_view line, std::size_t max_bytes) {
  if (line.size() > max_bytes)
    throw ProtocolError(ErrorCode::too_large,
                        "request is larger than " + std::to_string(max_bytes) + " bytes");
  if (line.find('\0') != std::string_view::npos)
    throw ProtocolError(ErrorCode::bad_request, "request contains a NUL byte");
  if (json_depth(line) > kMaxJsonDepth)
    throw ProtocolError(ErrorCode::bad_request,
                        "request nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  const json doc = json::parse(line, nullptr, false);
  if (doc.is_discarded()) throw ProtocolError(ErrorCode::bad_request, "request is not valid JSON");
  if (!doc.is_object())
    throw ProtocolError(ErrorCode::bad_request, "request must be a JSON object");
  auto v = doc.find("v");
  if (v == doc.end() || !v->is_number_integer())
    throw ProtocolError(ErrorCode::bad_request, "request needs an integer 'v' (protocol version)");
  if (v->get<std::int64_t>() != kProtocolVersion)
    throw ProtocolError(ErrorCode::unsupported_version,
                        "protocol version " + v->dump() + " is not supported; this jobqd speaks " +
                            std::to_string(kProtocolVersion) + " (upgrade jobq or jobqd to match)");
  // Only now, in our version, is an unknown field an error.
  for (const auto& [key, value] : doc.items()) {
    if (key != "v" && key != "cmd" && key != "args")
      throw ProtocolError(ErrorCode::bad_request, "unknown request field '" + key + "'");
  }
  auto cmd = doc.find("cmd");
  if (cmd == doc.end() || !cmd->is_string())
    throw ProtocolError(ErrorCode::bad_request, "request needs a string 'cmd'");
  Request r;
  r.cmd = cmd->get<std::string>();
  if (auto args = doc.find("args"); args != doc.end()) {
    if (!args->is_object()) throw ProtocolError(ErrorCode::bad_request, "'args' must be an object");
    r.args = *args;
  }
  return r;
}

std::string encode_request(const Request& r) {
  return dump(json{{"v", kProtocolVersion}, {"cmd", r.cmd}, {"args", r.args}});
}

namespace {
// Every reply says which protocol revision and which jobqd sent it.
json envelope() {
  return json{{"v", kProtocolVersion}, {"rev", kProtocolRevision}, {"server", JOBQ_VERSION}};
}
}  // namespace

std::string encode_ok(const json& result) {
  json j = envelope();
  j["ok"] = true;
  j["result"] = result;
  return dump(j);
}

std::string encode_error(ErrorCode code, std::string_view message) {
  json j = envelope();
  j["ok"] = false;
  j["error"] = {{"code", to_string(code)}, {"message", message}};
  return dump(j);
}

std::string encode_partial(const json& result) {
  json j = envelope();
  j["ok"] = true;
  j["more"] = true;
  j["result"] = result;
  return dump(j);
}

namespace {
std::function<void(int, const std::string&)>& server_observer() {
  static std::function<void(int, const std::string&)> f;
  return f;
}
void note_server(const json& rev, const std::string& server) {
  if (auto& f = server_observer(); f) f(rev.is_number_integer() ? rev.get<int>() : 1, server);
}
}  // namespace

void on_server_revision(std::function<void(int revision, const std::string& server)> f) {
  server_observer() = std::move(f);
}

json decode_response(std::string_view line) {
  return decode_response_frame(line).result;
}

ResponseFrame decode_response_frame(std::string_view line) {
  const json doc = json::parse(line, nullptr, false);
  if (!doc.is_object() || !doc.contains("ok") || !doc["ok"].is_boolean())
    throw ProtocolError(ErrorCode::internal, "jobqd sent a malformed response");
  note_server(doc.value("rev", 1), doc.contains("server") && doc["server"].is_string()
                                       ? doc["server"].get<std::string>()
                                       : std::string("(older than 0.1)"));
  if (doc["ok"].get<bool>()) {
    const auto more = doc.find("more");
    if (more != doc.end() && !more->is_boolean())
      throw ProtocolError(ErrorCode::internal, "jobqd sent a malformed response");
    return ResponseFrame{doc.value("result", json::object()),
                         more != doc.end() && more->get<bool>()};
  }
  const auto err = doc.find("error");
  if (err == doc.end() || !err->is_object())
    throw ProtocolError(ErrorCode::internal, "jobqd sent a malformed error response");
  const auto code_it = err->find("code");
  const auto msg_it = err->find("message");
  const auto code =
      code_it != err->end() && code_it->is_string()
          ? parse_error_code(code_it->get<std::string>()).value_or(ErrorCode::internal)
          : ErrorCode::internal;
  throw ProtocolError(code, msg_it != err->end() && msg_it->is_string()
                                ? msg_it->get<std::string>()
                                : std::string("jobqd reported an error"));
}

// ---- ArgReader --------------------------------------------------------------

ArgReader::ArgReader(const json& args, std::vector<std::string_view> allowed) : args_(args) {
  for (const auto& [key, value] : args.items()) {
    bool ok = false;
    for (auto a : allowed) ok = ok || a == key;
    if (!ok) throw ProtocolError(ErrorCode::bad_request, "unknown field '" + key + "'");
  }
}

const json* ArgReader::raw(const char* key) {
  auto it = args_.find(key);
  if (it == args_.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<std::string> ArgReader::string(const char* key) {
  const json* v = raw(key);
  if (!v) return std::nullopt;
  if (!v->is_string())
    throw ProtocolError(ErrorCode::bad_request,
                        std::string("field '") + key + "' must be a string, not " + type_name(*v));
  return v->get<std::string>();
}

std::string ArgReader::required_string(const char* key) {
  auto s = string(key);
  if (!s)
    throw ProtocolError(ErrorCode::bad_request, std::string("field '") + key + "' is required");
  return *s;
}

std::optional<std::int64_t> ArgReader::integer(const char* key) {
  const json* v = raw(key);
  if (!v) return std::nullopt;
  if (!v->is_number_integer())
    throw ProtocolError(ErrorCode::bad_request, std::string("field '") + key +
                                                    "' must be an integer, not " + type_name(*v));
  if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
    throw ProtocolError(ErrorCode::bad_request, std::string("field '") + key + "' is out of range");
  return v->get<std::int64_t>();
}

std::optional<bool> ArgReader::boolean(const char* key) {
  const json* v = raw(key);
  if (!v) return std::nullopt;
  if (!v->is_boolean())
    throw ProtocolError(ErrorCode::bad_request,
                        std::string("field '") + key + "' must be true or false");
  return v->get<bool>();
}

std::optional<std::vector<std::string>> ArgReader::string_list(const char* key) {
  const json* v = raw(key);
  if (!v) return std::nullopt;
  if (!v->is_array())
    throw ProtocolError(ErrorCode::bad_request,
                        std::string("field '") + key + "' must be an array of strings");
  std::vector<std::string> out;
  for (const auto& e : *v) {
    if (!e.is_string())
      throw ProtocolError(ErrorCode::bad_request,
                          std::string("field '") + key + "' must be an array of strings");
    out.push_back(e.get<std::string>());
  }
  return out;
}

std::optional<std::vector<std::int64_t>> ArgReader::integer_list(const char* key) {
  const json* v = raw(key);
  if (!v) return std::nullopt;
  if (!v->is_array())
    throw ProtocolError(ErrorCode::bad_request,
                        std::string("field '") + key + "' must be an array of integers");
  std::vector<std::int64_t> out;
  for (const auto& e : *v) {
    if (!e.is_number_integer() ||
        (e.is_number_unsigned() && e.get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)))
      throw ProtocolError(ErrorCode::bad_request,
                          std::string("field '") + key + "' must be an array of integers");
    out.push_back(e.get<std::int64_t>());
  }
  return out;
}

std::optional<std::map<std::string, std::string>> ArgReader::string_map(const char* key) {
  const json* v = raw(key);
  if (!v) return std::nullopt;
  if (!v->is_object())
    throw ProtocolError(ErrorCode::bad_request,
                        std::string("field '") + key + "' must be an object of strings");
  std::map<std::string, std::string> out;
  for (const auto& [k, e] : v->items()) {
    if (!e.is_string())
      throw ProtocolError(ErrorCode::bad_request,
                          std::string("field '") + key + "." + k + "' must be a string");
    out[k] = e.get<std::string>();
  }
  return out;
}

int json_depth(std::string_view text) {
  int depth = 0, max = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"')
      in_string = true;
    else if (c == '[' || c == '{')
      max = std::max(max, ++depth);
    else if (c == ']' || c == '}')
      --depth;
  }
  return max;
}

// ---- names --------------------------------------------------------------------

bool valid_env_name(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  if (std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  return true;
}

bool valid_app_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  if (!std::isalnum(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
      return false;
  return true;
}

bool valid_label_key(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x21 || c == '=' || c == 0x7f) return false;
  return true;
}

}  // namespace jobq
