// render (CLI output): shell quoting, table layout, job outcome wording.
#include <doctest/doctest.h>

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "model/model.hpp"
#include "render.hpp"

using nlohmann::json;
namespace render = jobq::render;

namespace {

std::string table_of(const std::vector<std::vector<std::string>>& rows) {
  std::ostringstream out;
  render::table(out, rows);
  return out.str();
}

// What /bin/sh makes of `words`: each word it passes to printf, in brackets.
std::string through_sh(const std::string& words) {
  const std::string script = "printf '[%s]' " + words;
  // Hand the script to sh on stdin-free argv: quote it for the outer popen shell.
  std::string cmd = "sh -c '";
  for (char c : script) cmd += c == '\'' ? std::string("'\\''") : std::string(1, c);
  cmd += "'";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[256];
  std::size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  CHECK(::pclose(p) == 0);
  return out;
}

}  // namespace

TEST_CASE("shell_join leaves plain words alone") {
  CHECK(render::shell_join(json{"echo", "hello"}) == "echo hello");
  CHECK(render::shell_join(json{"run", "--x=1", "/a/b.c", "user@host:1,2%+", "-_"}) ==
        "run --x=1 /a/b.c user@host:1,2%+ -_");
  CHECK(render::shell_join(json::array()) == "");
}

TEST_CASE("shell_join quotes spaces, quotes, empty strings and shell syntax") {
  CHECK(render::shell_join(json{"echo", "hello world"}) == "echo 'hello world'");
  CHECK(render::shell_join(json{"it's"}) == R"('it'\''s')");
  CHECK(render::shell_join(json{"echo", ""}) == "echo ''");
  CHECK(render::shell_join(json{"$HOME"}) == "'$HOME'");
  CHECK(render::shell_join(json{"a;b", "*"}) == "'a;b' '*'");
}

TEST_CASE("shell_join without a command is the image default") {
  CHECK(render::shell_join(json(nullptr)) == "(image default)");
  CHECK(render::shell_join(json::object()) == "(image default)");
}

TEST_CASE("shell_join output reads back as the same words in /bin/sh") {
  const std::vector<std::string> words{"plain", "two words", "it's",    "\"double\"", "",
                                       "$HOME", "`id`",      "$(id)",   "a\\b",       "*",
                                       "~",     "#c",        "a;b&c|d", "new\nline",  "tab\there",
                                       "!bang", "ünï",       "'",       "''",         "x=y"};
  const std::string joined = render::shell_join(json(words));
  std::string expected;
  for (const auto& w : words) expected += "[" + w + "]";
  CAPTURE(joined);
  CHECK(through_sh(joined) == expected);
}

TEST_CASE("shell_join quotes a first word that a shell would take as an assignment") {
  // BUG (cli/render.cpp:47-48): '=' counts as a plain character everywhere,
  // so a command whose first word is "FOO=bar" is printed unquoted; typed
  // into a shell, "FOO=bar printf ..." sets a variable and runs printf
  // instead of running the program "FOO=bar".
  const std::string joined = render::shell_join(json{"FOO=bar", "printf", "x"});
  CHECK(joined.rfind("FOO=bar ", 0) != 0);
}

TEST_CASE("table pads every column but the last to its widest cell") {
  const std::string out =
      table_of({{"ID", "APP", "STATE"}, {"1", "web", "running"}, {"100", "a", "failed"}});
  CHECK(out ==
        "ID   APP  STATE\n"
        "1    web  running\n"
        "100  a    failed\n");
}

TEST_CASE("table handles rows of different lengths and no rows") {
  CHECK(table_of({}) == "");
  CHECK(table_of({{"key:", "value"}, {"longer key:", "v"}, {"k"}}) ==
        "key:         value\n"
        "longer key:  v\n"
        "k\n");
}

TEST_CASE("outcome words a job's end") {
  CHECK(render::outcome(json{{"state", "succeeded"}, {"exit_code", 0}, {"reason", nullptr}}) ==
        "succeeded");
  CHECK(render::outcome(json{{"state", "failed"}, {"exit_code", 3}, {"reason", "exit code 3"}}) ==
        "failed (exit code 3)");
  CHECK(render::outcome(json{{"state", "failed"}, {"exit_code", 137}, {"reason", "oom"}}) ==
        "failed (exit code 137): oom");
  CHECK(render::outcome(json{{"state", "failed"},
                             {"exit_code", nullptr},
                             {"reason", "launch failed: no such image"}}) ==
        "failed: launch failed: no such image");
  CHECK(render::outcome(json{{"state", "cancelled"},
                             {"exit_code", 143},
                             {"reason", "cancel requested while running"}}) ==
        "cancelled: cancel requested while running");
  CHECK(render::outcome(json{{"state", "lost"}, {"reason", "container gone"}}) ==
        "lost: container gone");
  CHECK(render::outcome(json{{"state", "pending"}}) == "pending");
}

TEST_CASE("outcome marks a job being cancelled") {
  CHECK(render::outcome(json{{"state", "running"}, {"cancel_requested", true}}) ==
        "running (cancelling)");
  CHECK(render::outcome(json{{"state", "starting"}, {"cancel_requested", true}}) ==
        "starting (cancelling)");
  CHECK(render::outcome(json{{"state", "running"}, {"cancel_requested", false}}) == "running");
}

TEST_CASE("job_table shortens long commands; created_at in local time with its zone") {
  const char* old_tz = ::getenv("TZ");
  const std::string saved = old_tz ? old_tz : "";
  ::setenv("TZ", "CET-1", 1);
  ::tzset();
  const json jobs = json::array({json{{"id", 12},
                                      {"app", "web"},
                                      {"state", "running"},
                                      {"exit_code", nullptr},
                                      {"created_at", "2026-11-21T00:32:00.857721500Z"},
                                      {"command", {"echo", std::string(80, 'x')}}}});
  std::ostringstream out;
  render::job_table(out, jobs);
  const std::string s = out.str();
  CHECK(s.rfind("ID ", 0) == 0);
  CHECK(s.find("2026-11-21 01:32:00 CET ") != std::string::npos);
  CHECK(s.find(".857721500Z") == std::string::npos);
  CHECK(s.find("echo " + std::string(52, 'x') + "...\n") != std::string::npos);
  if (old_tz)
    ::setenv("TZ", saved.c_str(), 1);
  else
    ::unsetenv("TZ");
  ::tzset();
}

TEST_CASE("job_table prints the columns asked for, in that order") {
  const char* old_tz = ::getenv("TZ");
  const std::string saved = old_tz ? old_tz : "";
  ::setenv("TZ", "CET-1", 1);
  ::tzset();
  const json jobs = json::array({json{{"id", 7},
                                      {"app", "web"},
                                      {"state", "failed"},
                                      {"exit_code", 3},
                                      {"priority", 5},
                                      {"held", false},
                                      {"labels", {{"team", "a"}, {"tier", "b"}}},
                                      {"submitted_by", {{"uid", 1000}, {"user", "ann"}}},
                                      {"started_at", "2026-11-21T00:32:00.5Z"},
                                      {"attempts", json::array({json{{"started_at", "S"}}})}}});
  std::ostringstream out;
  render::job_table(out, jobs,
                    render::parse_job_columns("exit,ID,labels,user,priority,attempts,started"));
  CHECK(out.str() ==
        "EXIT  ID  LABELS         USER  PRIORITY  ATTEMPTS  STARTED\n"
        "3     7   team=a,tier=b  ann   5         1         2026-11-21 01:32:00 CET\n");
  if (old_tz)
    ::setenv("TZ", saved.c_str(), 1);
  else
    ::unsetenv("TZ");
  ::tzset();
  std::ostringstream bare;
  render::job_table(bare, jobs, render::parse_job_columns("state"), false);
  CHECK(bare.str() == "failed\n");
}

TEST_CASE("parse_job_columns refuses an unknown or empty column, naming the known ones") {
  CHECK(render::parse_job_columns(render::kDefaultJobColumns).size() == 7);
  for (const char* spec : {"id,colour", "id,", "", "id,,state"}) {
    CAPTURE(spec);
    try {
      render::parse_job_columns(spec);
      FAIL("accepted");
    } catch (const std::invalid_argument& e) {
      CHECK(std::string(e.what()).find("(columns: id, app, state, exit,") != std::string::npos);
    }
  }
  try {
    render::parse_job_columns("id,colour");
  } catch (const std::invalid_argument& e) {
    CHECK(std::string(e.what()).rfind("no column 'colour'", 0) == 0);
  }
}

TEST_CASE("envelope carries the schema version") {
  const json e = render::envelope("job", json{{"id", 1}});
  CHECK(e["schema"] == jobq::kJsonSchemaVersion);
  CHECK(e["job"]["id"] == 1);
}

TEST_CASE("status shows an unreachable engine and containers no job knows") {
  const nlohmann::json st{{"version", "0.1.0"},
                          {"pid", 42},
                          {"engine", {{"reachable", false}, {"error", "connection refused"}}},
                          {"jobs", {{"pending", 3}}},
                          {"unknown_containers", {"jobq-abc-9-1"}}};
  std::ostringstream out;
  jobq::render::status(out, st);
  const std::string text = out.str();
  CHECK(text.find("UNREACHABLE: connection refused") != std::string::npos);
  CHECK(text.find("pending 3") != std::string::npos);
  CHECK(text.find("jobq-abc-9-1") != std::string::npos);

  std::ostringstream healthy;
  jobq::render::status(healthy, {{"engine", {{"reachable", true}, {"api_version", "1.41"}}}});
  CHECK(healthy.str().find("reachable, API 1.41") != std::string::npos);
  CHECK(healthy.str().find("unknown containers:  none") != std::string::npos);
}

TEST_CASE("job_detail says where an attempt ran and whose its times are, when not the engine's") {
  const auto attempt = [](int n, const std::string& node, const std::string& times) {
    return json{{"number", n},         {"state", "succeeded"},  {"exit_code", 0},
                {"oom_killed", false}, {"container_name", "c"}, {"node", node},
                {"times_from", times}};
  };
  json job{
      {"id", 3},
      {"app", "web"},
      {"state", "succeeded"},
      {"attempts", json::array({attempt(1, "", "engine"), attempt(2, "node-2", "scheduler")})}};
  std::ostringstream out;
  render::job_detail(out, job);
  const std::string text = out.str();
  CHECK(text.find("attempt 2 ran on node-2; its times are the scheduler's") != std::string::npos);
  CHECK(text.find("attempt 1 ran") == std::string::npos);  // this machine's engine: nothing to say
  CHECK(text.find("attempt 1 its times") == std::string::npos);
}
