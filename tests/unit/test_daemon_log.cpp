// jobqd's log setup: with stderr being the stream JOURNAL_STREAM names,
// every line is "<priority>text" with no timestamp of its own; otherwise
// (no variable, or one naming another file) spdlog's usual timestamped lines.
#include <doctest/doctest.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "base/daemon_log.hpp"
#include "base/systemd.hpp"
#include "test_support.hpp"

using jobq::test::TempDir;

namespace {

// "DEVICE:INODE" of a file, as systemd writes JOURNAL_STREAM.
std::string dev_ino(const std::string& path) {
  struct stat st {};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

// For one scope: stderr (fd 2) goes to `path`, JOURNAL_STREAM is `journal`
// (unset when nullopt), and spdlog's default logger and level are put back
// after.
class LogCapture {
 public:
  LogCapture(const std::string& path, const std::optional<std::string>& journal)
      : saved_stderr_(::dup(STDERR_FILENO)),
        logger_(spdlog::default_logger()),
        level_(spdlog::get_level()) {
    if (const char* old = std::getenv("JOURNAL_STREAM")) old_env_ = old;
    std::fflush(stderr);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    REQUIRE(fd >= 0);
    REQUIRE(::dup2(fd, STDERR_FILENO) == STDERR_FILENO);
    ::close(fd);
    if (journal)
      ::setenv("JOURNAL_STREAM", journal->c_str(), 1);
    else
      ::unsetenv("JOURNAL_STREAM");
  }
  ~LogCapture() {
    spdlog::default_logger()->flush();
    std::fflush(stderr);
    ::dup2(saved_stderr_, STDERR_FILENO);
    ::close(saved_stderr_);
    if (old_env_)
      ::setenv("JOURNAL_STREAM", old_env_->c_str(), 1);
    else
      ::unsetenv("JOURNAL_STREAM");
    spdlog::set_default_logger(logger_);
    spdlog::set_level(level_);
  }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

 private:
  int saved_stderr_;
  std::shared_ptr<spdlog::logger> logger_;
  spdlog::level::level_enum level_;
  std::optional<std::string> old_env_;
};

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// jobqd's setup at level debug, then one message at each level and one of
// two lines; returns what reached stderr.
std::vector<std::string> log_through_setup(const std::string& path,
                                           const std::optional<std::string>& journal) {
  {
    LogCapture capture(path, journal);
    jobq::setup_daemon_log("debug");
    spdlog::trace("not at level debug");
    spdlog::debug("a debug message");
    spdlog::info("listening on {}", "/run/jobq/jobq.sock");
    spdlog::warn("engine unreachable");
    spdlog::error("a failed webhook");
    spdlog::critical("cannot open the store");
    spdlog::info("first line\nsecond line");
  }
  return lines_of(path);
}

}  // namespace

TEST_CASE("JOURNAL_STREAM names stderr: each line carries its priority and no timestamp") {
  TempDir dir;
  const std::string path = dir.file("stderr");
  { std::ofstream(path).put('x'); }  // exists, so that its inode is known
  const auto lines = log_through_setup(path, dev_ino(path));
  const std::vector<std::string> expected = {
      "<7>a debug message",       "<6>listening on /run/jobq/jobq.sock",
      "<4>engine unreachable",    "<3>a failed webhook",
      "<2>cannot open the store", "<6>first line",
      "<6>second line",
  };
  CHECK(lines == expected);
}

TEST_CASE("without JOURNAL_STREAM, or naming another file: timestamped lines as before") {
  TempDir dir;
  const std::string path = dir.file("stderr");
  const std::string other = dir.file("other");
  { std::ofstream(path).put('x'); }
  { std::ofstream(other).put('x'); }
  for (const auto& journal :
       {std::optional<std::string>{}, std::optional<std::string>{dev_ino(other)}}) {
    CAPTURE(journal.value_or("(unset)"));
    const auto lines = log_through_setup(path, journal);
    REQUIRE(lines.size() == 7);
    const std::regex stamp(R"(\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] \[jobqd\] \[(\w+)\] (.*))");
    const std::vector<std::pair<std::string, std::string>> expected = {
        {"debug", "a debug message"},          {"info", "listening on /run/jobq/jobq.sock"},
        {"warning", "engine unreachable"},     {"error", "a failed webhook"},
        {"critical", "cannot open the store"}, {"info", "first line"}};
    for (std::size_t i = 0; i < expected.size(); ++i) {
      std::smatch m;
      CAPTURE(lines[i]);
      REQUIRE(std::regex_match(lines[i], m, stamp));
      CHECK(m[1] == expected[i].first);
      CHECK(m[2] == expected[i].second);
    }
    CHECK(lines[6] == "second line");
  }
}

TEST_CASE("is_journal_stream: only DEVICE:INODE of that very file") {
  TempDir dir;
  const std::string path = dir.file("f");
  { std::ofstream(path).put('x'); }
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  struct stat st {};
  REQUIRE(::fstat(fd, &st) == 0);
  const std::string dev = std::to_string(st.st_dev);
  const std::string ino = std::to_string(st.st_ino);
  CHECK(jobq::systemd::is_journal_stream(fd, (dev + ":" + ino).c_str()));
  CHECK_FALSE(jobq::systemd::is_journal_stream(fd, nullptr));
  const std::vector<std::string> malformed_or_other = {"",
                                                       dev,
                                                       dev + ":",
                                                       ":" + ino,
                                                       dev + ":" + ino + ":1",
                                                       dev + ":" + ino + "x",
                                                       " " + dev + ":" + ino,
                                                       dev + ":-" + ino,
                                                       dev + ":" + std::to_string(st.st_ino + 1),
                                                       "99999999999999999999999:1"};
  for (const std::string& bad : malformed_or_other) {
    CAPTURE(bad);
    CHECK_FALSE(jobq::systemd::is_journal_stream(fd, bad.c_str()));
  }
  ::close(fd);
  CHECK_FALSE(jobq::systemd::is_journal_stream(fd, (dev + ":" + ino).c_str()));  // closed
}
