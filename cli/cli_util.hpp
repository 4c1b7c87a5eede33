// Small helpers shared by the CLI's subcommands: the usage error (exit 64)
// and the parsers for what users type on the command line.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "client.hpp"
#include "paths.hpp"

namespace jobq {

// Options every subcommand shares.
struct Globals {
  std::string socket;
  Client client() const { return Client(resolve_socket_path(socket)); }
};

// --json output: indented, one object.
void print_json(const nlohmann::json& j);

// A mistake on the command line: printed as an error, exit code 64.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "30s", "10m", "2h" -> milliseconds (> 0), or UsageError naming `option`.
std::int64_t duration_ms(const std::string& s, const char* option);
// A job id as printed by jobq enqueue, or UsageError.
std::int64_t parse_id(const std::string& s);
// Job ids given as "1,2" and/or repeated options -> ids, or UsageError.
std::vector<std::int64_t> parse_id_list(const std::vector<std::string>& items);
// Repeated KEY=VALUE options (--env, --label) -> a map, or UsageError naming `what`.
std::map<std::string, std::string> parse_pairs(const std::vector<std::string>& items, const char* what);
// A --since argument (a duration ago, or a time: RFC 3339, 'YYYY-MM-DD
// HH:MM', 'HH:MM' local, today's if it has passed) as RFC 3339, or
// UsageError naming `option`.
std::string since_arg(const std::string& s, const char* option);
// A --message argument: itself, or the contents of @FILE (@- reads stdin).
std::string read_message(const std::string& arg);

}  // namespace jobq
