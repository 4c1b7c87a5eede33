// jobqd's configuration file parser: key = value lines, comments, blank
// lines, line numbers in every entry and every error.
#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "base/config_file.hpp"
#include "test_support.hpp"

using jobq::ConfigEntry;
using jobq::ConfigFileError;
using jobq::parse_config;
using jobq::read_config_file;
using jobq::test::TempDir;

namespace {

// The error parse_config throws for `text`, or "" when it throws none.
std::string error_of(const std::string& text) {
  try {
    parse_config(text, "jobqd.conf");
  } catch (const ConfigFileError& e) {
    return e.what();
  }
  return "";
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

}  // namespace

TEST_CASE("entries come back in file order with their line numbers") {
  const auto entries = parse_config(
      "# jobqd settings\n"
      "\n"
      "socket = /run/jobq/jobq.sock\n"
      "   max_running=4   \n"
      "\t# indented comment\n"
      "log-level\t=\tdebug\n"
      "keep_containers = true",  // no final newline
      "f");
  REQUIRE(entries.size() == 4);
  CHECK(entries[0].key == "socket");
  CHECK(entries[0].value == "/run/jobq/jobq.sock");
  CHECK(entries[0].line == 3);
  CHECK(entries[1].key == "max_running");
  CHECK(entries[1].value == "4");
  CHECK(entries[1].line == 4);
  CHECK(entries[2].key == "log-level");  // as written; normalize_config_key maps '-' to '_'
  CHECK(entries[2].value == "debug");
  CHECK(entries[2].line == 6);
  CHECK(entries[3].key == "keep_containers");
  CHECK(entries[3].value == "true");
  CHECK(entries[3].line == 7);
}

TEST_CASE("an empty file, or one of comments only, has no entries") {
  CHECK(parse_config("", "f").empty());
  CHECK(parse_config("\n\n# all commented out\n#max_running = 4\n   \n", "f").empty());
}

TEST_CASE("values: empty, with '=' or '#' inside, quoted") {
  const auto entries = parse_config(
      "socket_group =\n"
      "engine = unix:///run/docker.sock?x=1\n"
      "admin_group = ops # not a comment\n"
      "socket = \"  spaced  \"\n"
      "retention = \"\"\n",
      "f");
  REQUIRE(entries.size() == 5);
  CHECK(entries[0].value.empty());
  CHECK(entries[1].value == "unix:///run/docker.sock?x=1");  // the first '=' splits
  CHECK(entries[2].value == "ops # not a comment");
  CHECK(entries[3].value == "  spaced  ");
  CHECK(entries[4].value.empty());
}

TEST_CASE("CRLF line ends and a byte order mark are accepted") {
  const auto entries =
      parse_config("\xEF\xBB\xBFmax_running = 2\r\n# c\r\nlog_level = warn\r\n", "f");
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].key == "max_running");
  CHECK(entries[0].value == "2");
  CHECK(entries[1].value == "warn");
  CHECK(entries[1].line == 3);
}

TEST_CASE("duplicate keys are all returned, in order (the caller decides)") {
  const auto entries = parse_config("a = 1\na = 2\n", "f");
  REQUIRE(entries.size() == 2);
  CHECK(entries[1].line == 2);
}

TEST_CASE("errors name the source and the line") {
  CHECK(error_of("max_running = 4\nmax_running 4\n") ==
        "jobqd.conf:2: expected 'key = value', got 'max_running 4'");
  CHECK(error_of("\n\n = 4\n") == "jobqd.conf:3: missing key before '='");
  CHECK(error_of("max running = 4\n") ==
        "jobqd.conf:1: malformed key 'max running' (letters, digits, '_' and '-' only)");
  CHECK(error_of("[daemon]\n") == "jobqd.conf:1: expected 'key = value', got '[daemon]'");
  CHECK(error_of("socket = \"/run/x\n") ==
        "jobqd.conf:1: unterminated quote in the value of 'socket'");
  CHECK(error_of("socket = \"\n") == "jobqd.conf:1: unterminated quote in the value of 'socket'");
  CHECK(error_of("socket = \"a\"b\"\n") ==
        "jobqd.conf:1: a quoted value may not contain '\"' (key 'socket')");
  CHECK(error_of(std::string("a = 1\nb = x\0y\n", 14)) == "jobqd.conf:2: NUL byte in the line");
  // A long bad line is cut in the message, control characters masked.
  const std::string err = error_of(std::string(100, 'x') + "\x01\n");
  CHECK(err == "jobqd.conf:1: expected 'key = value', got '" + std::string(40, 'x') + "...'");
}

TEST_CASE("ConfigFileError keeps its parts") {
  try {
    parse_config("ok = 1\n\nbad\n", "/etc/jobq/jobqd.conf");
    FAIL("no error");
  } catch (const ConfigFileError& e) {
    CHECK(e.source() == "/etc/jobq/jobqd.conf");
    CHECK(e.line() == 3);
    CHECK(e.message() == "expected 'key = value', got 'bad'");
  }
}

TEST_CASE("normalize_config_key accepts both spellings") {
  CHECK(jobq::normalize_config_key("max-running") == "max_running");
  CHECK(jobq::normalize_config_key("max_running") == "max_running");
  CHECK(jobq::normalize_config_key("log-cap") == "log_cap");
}

TEST_CASE("read_config_file: a missing file is fine only when allowed") {
  TempDir dir;
  const std::string missing = dir.file("nope.conf");
  CHECK_FALSE(read_config_file(missing, true).has_value());
  try {
    read_config_file(missing, false);
    FAIL("no error");
  } catch (const ConfigFileError& e) {
    CHECK(std::string(e.what()) == missing + ": cannot open: No such file or directory");
    CHECK(e.line() == 0);
  }
}

TEST_CASE("read_config_file reads and parses, errors name the path") {
  TempDir dir;
  const std::string path = dir.file("jobqd.conf");
  write_file(path, "# x\nmax_running = 3\n");
  const auto entries = read_config_file(path, false);
  REQUIRE(entries.has_value());
  REQUIRE(entries->size() == 1);
  CHECK((*entries)[0].line == 2);

  write_file(path, "max_running = 3\noops\n");
  CHECK_THROWS_WITH_AS(read_config_file(path, true),
                       (path + ":2: expected 'key = value', got 'oops'").c_str(), ConfigFileError);
}

TEST_CASE(
    "read_config_file: a directory or an oversized file is an error even when missing is fine") {
  TempDir dir;
  const std::string sub = dir.file("conf.d");
  REQUIRE(::mkdir(sub.c_str(), 0700) == 0);
  CHECK_THROWS_WITH_AS(read_config_file(sub, true), (sub + ": is a directory, not a file").c_str(),
                       ConfigFileError);
  const std::string big = dir.file("big.conf");
  write_file(big, std::string(jobq::kMaxConfigFileBytes + 10, '#'));
  CHECK_THROWS_AS(read_config_file(big, true), ConfigFileError);
}

TEST_CASE("read_config_file: an unreadable file is an error, not skipped") {
  if (::geteuid() == 0) return;  // root reads it anyway
  TempDir dir;
  const std::string path = dir.file("secret.conf");
  write_file(path, "max_running = 1\n");
  REQUIRE(::chmod(path.c_str(), 0) == 0);
  CHECK_THROWS_AS(read_config_file(path, true), ConfigFileError);
}
