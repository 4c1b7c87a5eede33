#include "cli_util.hpp"

#include <chrono>
#include <fstream>
#include <iostream>
#include <sstream>

#include "base/time_util.hpp"
#include "exit_codes.hpp"
#include "render.hpp"

namespace jobq {

Client Globals::client() const {
  ConnectOptions o;
  o.paths = client_socket_paths(socket);
  if (connect_timeout != "0")
    o.retry_for = std::chrono::milliseconds(duration_ms(connect_timeout, "--connect-timeout"));
  o.on_retry = [](const std::string& message) { std::cerr << "jobq: " << message << '\n'; };
  return Client(std::move(o));
}

Client Globals::client_no_wait() const {
  ConnectOptions o;
  o.paths = client_socket_paths(socket);
  return Client(std::move(o));
}

void print_json(const nlohmann::json& j) {
  std::cout << j.dump(2) << '\n';
}

nlohmann::json error_document(int code, const std::string& message,
                              const std::string& jobqd_error) {
  nlohmann::json e{{"exit_code", code},
                   {"meaning", std::string(exit_code::meaning(code))},
                   {"message", message}};
  if (!jobqd_error.empty()) e["jobqd_error"] = jobqd_error;
  return render::envelope("error", e);
}

std::int64_t duration_ms(const std::string& s, const char* option) {
  auto d = parse_duration(s);
  if (!d || d->count() <= 0)
    throw UsageError(std::string(option) + " '" + s + "' is not a duration (e.g. 30s, 10m, 2h)");
  return d->count();
}

std::int64_t parse_id(const std::string& s) {
  try {
    std::size_t pos = 0;
    const long long v = std::stoll(s, &pos);
    if (pos == s.size() && v > 0) return v;
  } catch (...) {
  }
  throw UsageError("'" + s + "' is not a job id (a positive integer, as printed by jobq enqueue)");
}

std::vector<std::int64_t> parse_id_list(const std::vector<std::string>& items) {
  std::vector<std::int64_t> out;
  for (const auto& item : items) {
    std::stringstream ss(item);
    std::string part;
    while (std::getline(ss, part, ',')) out.push_back(parse_id(part));
  }
  return out;
}

std::map<std::string, std::string> parse_pairs(const std::vector<std::string>& items,
                                               const char* what) {
  std::map<std::string, std::string> out;
  for (const auto& item : items) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0)
      throw UsageError(std::string(what) + " '" + item + "' must look like KEY=VALUE");
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

std::string since_arg(const std::string& s, const char* option) {
  const auto now = std::chrono::system_clock::now();
  std::optional<std::int64_t> when;
  if (auto d = parse_duration(s)) {
    when = now_unix_ns() - std::chrono::nanoseconds(*d).count();
  } else if ((when = parse_when(s, now)) && *when > now_unix_ns()) {
    *when -= 86'400'000'000'000;  // "HH:MM" already passed today: today's, not tomorrow's
  }
  if (!when)
    throw UsageError(std::string(option) + " '" + s +
                     "' is neither a duration ago (10m, 2h) nor a time (RFC 3339, 'YYYY-MM-DD "
                     "HH:MM', 'HH:MM')");
  return format_unix_ns(*when);
}

std::string read_message(const std::string& arg) {
  if (arg.empty() || arg[0] != '@') return arg;
  const std::string path = arg.substr(1);
  std::istream* in = nullptr;
  std::ifstream file;
  if (path == "-") {
    in = &std::cin;
  } else {
    file.open(path, std::ios::binary);
    if (!file) throw UsageError("cannot read message file " + path);
    in = &file;
  }
  std::ostringstream ss;
  ss << in->rdbuf();
  return ss.str();
}

}  // namespace jobq
