// Small helpers shared by the CLI's subcommands: the usage error (exit 64)
// and the parsers for what users type on the command line.
#pragma once

#include <cstdint>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/paths.hpp"
#include "wire/client.hpp"

namespace jobq {

// Options every subcommand shares.
struct Globals {
  std::string socket;                   // --socket
  std::string connect_timeout = "30s";  // --connect-timeout
  // A client for the socket jobq finds (client_socket_paths), which keeps
  // trying to connect for --connect-timeout, saying so on stderr.
  Client client() const;
  // The same, but failing at once (for side work: a progress line).
  Client client_no_wait() const;
};

// --json output: indented, one object.
void print_json(const nlohmann::json& j);

// The error document of --json output: {"schema": N, "error": {"exit_code",
// "meaning" (exit_code::meaning), "message", and "jobqd_error" (the
// protocol's error code) when jobqd refused}}. Printed on stdout when a
// command given --json fails, so a pipeline never parses an empty document.
nlohmann::json error_document(int exit_code, const std::string& message,
                              const std::string& jobqd_error = "");

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
std::map<std::string, std::string> parse_pairs(const std::vector<std::string>& items,
                                               const char* what);
// A --since argument (a duration ago, or a time: RFC 3339, 'YYYY-MM-DD
// HH:MM', 'HH:MM' local, today's if it has passed) as RFC 3339, or
// UsageError naming `option`.
std::string since_arg(const std::string& s, const char* option);
// A --message argument: itself, or the contents of @FILE (@- reads stdin).
std::string read_message(const std::string& arg);

}  // namespace jobq
