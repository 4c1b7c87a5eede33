// The CLI's view of a pull's progress: on a terminal a line per layer,
// rewritten in place; off one, a line per change of a layer's status.
#include <doctest/doctest.h>

#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "pull_progress.hpp"

using nlohmann::json;

namespace {
json line(const std::string& id, const std::string& status, long current = 0, long total = 0) {
  return json{{"id", id}, {"status", status}, {"current", current}, {"total", total}};
}
}  // namespace

TEST_CASE("on a terminal each layer keeps its line, rewritten in place") {
  std::ostringstream out;
  jobq::PullProgressView view(out, true);
  view.update(line("1", "Pulling from jobq-test/x"));
  view.update(line("aaa", "Pulling fs layer"));
  view.update(line("bbb", "Pulling fs layer"));
  view.update(line("aaa", "Downloading", 500, 1000));
  const std::string text = out.str();
  CHECK(text.find("1: Pulling from jobq-test/x\naaa: Pulling fs layer\nbbb: Pulling fs layer\n") ==
        0);
  // aaa's line is two lines up: up 2, clear it, write, back down 2.
  CHECK(
      text.find(
          "\x1b[2A\r\x1b[2Kaaa: Downloading [===============>              ] 500B/1kB\r\x1b[2B") !=
      std::string::npos);
}

TEST_CASE("off a terminal a layer's status is printed when it changes, never escapes") {
  std::ostringstream out;
  jobq::PullProgressView view(out, false);
  view.update(line("aaa", "Downloading", 1, 10));
  view.update(line("aaa", "Downloading", 5, 10));
  view.update(line("aaa", "Pull complete"));
  view.update(line("", "Status: Downloaded newer image for x\x1b]0;evil\x07"));
  const std::string text = out.str();
  CHECK(text.find("\x1b") == std::string::npos);
  CHECK(text.find("aaa: Pull complete\n") != std::string::npos);
  CHECK(text.find("aaa: Downloading") == text.rfind("aaa: Downloading"));  // once
  CHECK(text.find("Status: Downloaded newer image for x\\x1b]0;evil\\x07\n") != std::string::npos);
}
