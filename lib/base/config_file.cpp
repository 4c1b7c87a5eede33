#include "base/config_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace jobq {

namespace {

std::string describe(const std::string& source, int line, const std::string& message) {
  return line > 0 ? source + ":" + std::to_string(line) + ": " + message : source + ": " + message;
}

bool is_blank(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

bool is_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// A line as it may be quoted in a message: at most 40 characters, control
// characters shown as '?'.
std::string excerpt(std::string_view line) {
  std::string out;
  for (char c : line.substr(0, 40)) out += static_cast<unsigned char>(c) < 0x20 ? '?' : c;
  if (line.size() > 40) out += "...";
  return out;
}

}  // namespace

ConfigFileError::ConfigFileError(const std::string& source, int line, const std::string& message)
    : std::runtime_error(describe(source, line, message)),
      source_(source),
      line_(line),
      message_(message) {}

std::string normalize_config_key(std::string_view key) {
  std::string out(key);
  for (char& c : out)
    if (c == '-') c = '_';
  return out;
}

std::vector<ConfigEntry> parse_config(std::string_view text, const std::string& source) {
  if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);  // UTF-8 byte order mark
  std::vector<ConfigEntry> entries;
  int number = 0;
  while (!text.empty()) {
    ++number;
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.find('\0') != std::string_view::npos)
      throw ConfigFileError(source, number, "NUL byte in the line");
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;

    const auto eq = line.find('=');
    if (eq == std::string_view::npos)
      throw ConfigFileError(source, number, "expected 'key = value', got '" + excerpt(line) + "'");
    const std::string_view key = trim(line.substr(0, eq));
    if (key.empty()) throw ConfigFileError(source, number, "missing key before '='");
    for (char c : key)
      if (!is_key_char(c))
        throw ConfigFileError(
            source, number,
            "malformed key '" + excerpt(key) + "' (letters, digits, '_' and '-' only)");
    std::string_view value = trim(line.substr(eq + 1));
    if (!value.empty() && value.front() == '"') {
      if (value.size() < 2 || value.back() != '"')
        throw ConfigFileError(source, number,
                              "unterminated quote in the value of '" + std::string(key) + "'");
      value = value.substr(1, value.size() - 2);
      if (value.find('"') != std::string_view::npos)
        throw ConfigFileError(
            source, number, "a quoted value may not contain '\"' (key '" + std::string(key) + "')");
    }
    entries.push_back(ConfigEntry{std::string(key), std::string(value), number});
  }
  return entries;
}

std::optional<std::vector<ConfigEntry>> read_config_file(const std::string& path, bool missing_ok) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    const int err = errno;
    if (err == ENOENT && missing_ok) return std::nullopt;
    throw ConfigFileError(path, 0, std::string("cannot open: ") + std::strerror(err));
  }
  std::string text;
  std::string failure;
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    failure = std::string("cannot stat: ") + std::strerror(errno);
  } else if (S_ISDIR(st.st_mode)) {
    failure = "is a directory, not a file";
  } else {
    char buf[8192];
    for (;;) {
      const ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        failure = std::string("cannot read: ") + std::strerror(errno);
        break;
      }
      if (n == 0) break;
      text.append(buf, static_cast<std::size_t>(n));
      if (text.size() > kMaxConfigFileBytes) {
        failure = "larger than " + std::to_string(kMaxConfigFileBytes) +
                  " bytes; not a jobqd configuration file?";
        break;
      }
    }
  }
  ::close(fd);
  if (!failure.empty()) throw ConfigFileError(path, 0, failure);
  return parse_config(text, path);
}

}  // namespace jobq
