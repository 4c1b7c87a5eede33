// jobqd's configuration file (/etc/jobq/jobqd.conf): `key = value` lines.
// A line is blank, a comment (its first non-blank character is `#`), or a
// setting: a key (letters, digits, `_`, `-`), `=`, and a value that runs to
// the end of the line, surrounding blanks trimmed. A `#` after the value is
// part of it (no trailing comments). A value may be put in double quotes to
// keep blanks at its ends; there are no escapes. CRLF line ends and a UTF-8
// byte order mark are accepted. This module only splits the text into
// ordered (key, value, line) entries; what the keys mean, and which are
// allowed, is the daemon's business.
#pragma once

#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace jobq {

struct ConfigEntry {
  std::string key;    // as written
  std::string value;  // trimmed, quotes removed
  int line = 0;       // 1-based
};

// An error in a configuration file; what() is "SOURCE:LINE: message" (or
// "SOURCE: message" when it is not about one line).
class ConfigFileError : public std::runtime_error {
 public:
  ConfigFileError(const std::string& source, int line, const std::string& message);
  const std::string& source() const { return source_; }
  int line() const { return line_; }  // 0: the whole file
  const std::string& message() const { return message_; }

 private:
  std::string source_;
  int line_;
  std::string message_;
};

// Largest configuration file read (a guard against reading a wrong, huge file).
inline constexpr std::size_t kMaxConfigFileBytes = 1 << 20;

// Splits `text` into entries, in file order. Throws ConfigFileError naming
// `source` and the line for a line without `=`, an empty or malformed key,
// an unterminated quote, or a NUL byte.
std::vector<ConfigEntry> parse_config(std::string_view text, const std::string& source);

// Reads and parses the file at `path`. A file that does not exist gives
// nullopt when `missing_ok`, else a ConfigFileError; any other failure to
// read it (permissions, a directory, too large) is always an error.
std::optional<std::vector<ConfigEntry>> read_config_file(const std::string& path, bool missing_ok);

// The key with every `-` made `_` (both spellings are accepted).
std::string normalize_config_key(std::string_view key);

}  // namespace jobq
