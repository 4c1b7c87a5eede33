// Shell completion candidates (cli/complete): walking a CLI11 tree with fake
// sources for what jobqd knows, and the real `jobq __complete` with no jobqd.
#include <doctest/doctest.h>

#include <stdlib.h>

#include <algorithm>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "complete.hpp"
#include "jobq_cli.hpp"

using jobq::Candidate;
using jobq::CompletionSources;

namespace {

// A small tree shaped like jobq's own, with the names complete.cpp keys on.
struct Tree {
  CLI::App root{"test"};
  std::string s;
  std::vector<std::string> v;
  bool b = false;
  Tree() {
    root.add_option("--socket", s, "socket");
    auto* app = root.add_subcommand("app", "applications");
    app->add_subcommand("create", "new")->add_option("name", s, "name");
    app->add_subcommand("show", "one")->add_option("name", s, "name");
    auto* enqueue = root.add_subcommand("enqueue", "enqueue a job");
    enqueue->add_option("app", s, "app");
    enqueue->add_option("command", v, "command");
    enqueue->add_option("--env", v, "env")->type_size(1)->allow_extra_args(false);
    enqueue->add_option("--retries", s, "retries");
    enqueue->add_option("--after", v, "after")->type_size(1)->allow_extra_args(false);
    enqueue->add_flag("-q,--quiet", b, "quiet");
    enqueue->add_option("--batch", s, "batch");
    enqueue->add_option("--message", s, "message");
    root.add_subcommand("show", "show a job")->add_option("id", s, "id");
    root.add_subcommand("wait", "wait")->add_option("ids", v, "ids");
    auto* list = root.add_subcommand("list", "list jobs");
    list->add_option("--app", s, "app");
    list->add_option("--state", v, "state")
        ->delimiter(',')
        ->check(CLI::IsMember({"pending", "running", "failed"}));
    list->add_flag("--json", b, "json");
    root.add_subcommand("status", "status")->add_flag("--json", b, "json");
    auto* schedule = root.add_subcommand("schedule", "schedules");
    auto* screate = schedule->add_subcommand("create", "new");
    screate->add_option("name", s, "name");
    screate->add_option("app", s, "app");
    screate->add_option("--after-schedule", s, "other");
    schedule->add_subcommand("show", "one")->add_option("name", s, "name");
    list->add_option("--schedule", s, "schedule");
    root.add_subcommand("__complete", "hidden")->group("");
  }
};

struct Fake {
  std::vector<std::string> sockets;  // the --socket each lookup got
  CompletionSources sources() {
    CompletionSources s;
    s.apps = [this](const std::string& socket) {
      sockets.push_back(socket);
      return std::vector<Candidate>{{"reports", "busybox"}, {"reindex", ""}, {"mail", ""}};
    };
    s.jobs = [this](const std::string& socket) {
      sockets.push_back(socket);
      return std::vector<Candidate>{{"12", "running in reports"}, {"9", ""}, {"3", ""}};
    };
    s.schedules = [this](const std::string& socket) {
      sockets.push_back(socket);
      return std::vector<Candidate>{{"nightly", "0 3 * * * in reports"}, {"hourly", ""}};
    };
    return s;
  }
};

std::vector<std::string> values(const std::vector<std::string>& words, Fake* fake = nullptr) {
  Tree t;
  Fake local;
  Fake& f = fake != nullptr ? *fake : local;
  std::vector<std::string> out;
  for (const auto& c : jobq::complete_words(t.root, words, f.sources())) out.push_back(c.value);
  return out;
}

using Words = std::vector<std::string>;

bool has(const Words& got, const std::string& w) {
  return std::find(got.begin(), got.end(), w) != got.end();
}

// Runs the real jobq with these arguments; returns its exit code and output.
int run_jobq(std::vector<std::string> args, std::string& out, std::string& err) {
  args.insert(args.begin(), "jobq");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::ostringstream o, e;
  auto* old_out = std::cout.rdbuf(o.rdbuf());
  auto* old_err = std::cerr.rdbuf(e.rdbuf());
  const int rc = jobq::jobq_main(static_cast<int>(args.size()), argv.data());
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  out = o.str();
  err = e.str();
  return rc;
}

Words lines(const std::string& text) {
  Words out;
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) out.push_back(l);
  return out;
}

}  // namespace

TEST_CASE("subcommands, filtered by the word, hidden ones left out") {
  CHECK(values({""}) == Words{"app", "enqueue", "show", "wait", "list", "status", "schedule"});
  CHECK(values({}) == values({""}));
  CHECK(values({"s"}) == Words{"show", "status", "schedule"});
  CHECK(values({"enq"}) == Words{"enqueue"});
  CHECK(values({"__"}).empty());
  CHECK(values({"app", ""}) == Words{"create", "show"});
  CHECK(values({"app", "sh"}) == Words{"show"});
}

TEST_CASE("options of the current subcommand when the word starts with -") {
  CHECK(values({"enqueue", "--re"}) == Words{"--retries"});
  const Words all = values({"enqueue", "-"});
  CHECK(has(all, "-q"));
  CHECK(has(all, "--quiet"));
  CHECK(has(all, "--help"));
  CHECK_FALSE(has(all, "--socket"));  // the root's, not enqueue's
  CHECK_FALSE(has(values({"enqueue", "--"}), "-q"));
  CHECK(has(values({"-"}), "--socket"));
  // A command with nothing more to take but options offers them.
  CHECK(has(values({"status", ""}), "--json"));
}

TEST_CASE("application names and job ids where the table says so") {
  const Words apps{"reports", "reindex", "mail"};
  CHECK(values({"enqueue", ""}) == apps);
  CHECK(values({"enqueue", "re"}) == Words{"reports", "reindex"});
  CHECK(values({"app", "show", ""}) == apps);
  CHECK(values({"app", "create", ""}).empty());  // a new name
  CHECK(values({"list", "--app", ""}) == apps);
  CHECK(values({"list", "--json", "--app", "m"}) == Words{"mail"});
  CHECK(values({"list", "--app=r"}) == Words{"--app=reports", "--app=reindex"});
  CHECK(values({"show", ""}) == Words{"12", "9", "3"});
  CHECK(values({"show", "1"}) == Words{"12"});
  CHECK(values({"wait", "3", ""}) == Words{"12", "9", "3"});
  CHECK(values({"enqueue", "--after", ""}) == Words{"12", "9", "3"});
  CHECK(values({"enqueue", "--after", "3,"}) == Words{"3,12", "3,9", "3,3"});
  CHECK(values({"enqueue", "--after", "3,1"}) == Words{"3,12"});
}

TEST_CASE("schedule names where a schedule is named, not where one is made") {
  const Words schedules{"nightly", "hourly"};
  CHECK(values({"schedule", "show", ""}) == schedules);
  CHECK(values({"schedule", "show", "n"}) == Words{"nightly"});
  CHECK(values({"schedule", "create", ""}).empty());  // a new name
  CHECK(values({"schedule", "create", "x", ""}) == Words{"reports", "reindex", "mail"});  // APP
  CHECK(values({"schedule", "create", "x", "--after-schedule", "h"}) == Words{"hourly"});
  CHECK(values({"list", "--schedule", ""}) == schedules);
}

TEST_CASE("option values are skipped when walking, flags are not") {
  // --env takes a value, so "A=1" is not the app; -q takes none.
  CHECK(values({"enqueue", "--env", "A=1", "-q", "r"}) == Words{"reports", "reindex"});
  CHECK(values({"enqueue", "--env=A=1", "r"}) == Words{"reports", "reindex"});
  // The app is given: the command is free text, nothing to offer.
  CHECK(values({"enqueue", "reports", ""}).empty());
  CHECK(values({"enqueue", "reports", "--", "-"}).empty());
  // A show with its id has only options left.
  CHECK(has(values({"show", "12", ""}), "--help"));
}

TEST_CASE("the words of an IsMember check") {
  CHECK(values({"list", "--state", ""}) == Words{"pending", "running", "failed"});
  CHECK(values({"list", "--state", "p"}) == Words{"pending"});
  CHECK(values({"list", "--state=r"}) == Words{"--state=running"});
}

TEST_CASE("a state list completes after its last comma") {
  CHECK(values({"list", "--state", "failed,r"}) == Words{"failed,running"});
}

TEST_CASE("where a file's path goes, the shell is asked to complete one") {
  CHECK(values({"enqueue", "--batch", "jo"}) == Words{":files"});
  CHECK(values({"enqueue", "--batch=jo"}) == Words{":files --batch="});
  CHECK(values({"--socket", ""}) == Words{":files"});
  CHECK(values({"--socket=/ru"}) == Words{":files --socket="});
  CHECK(values({"enqueue", "--message", "@jo"}) == Words{":files @"});
  CHECK(values({"enqueue", "--message=@"}) == Words{":files --message=@"});
  CHECK(values({"enqueue", "--message", "{"}).empty());  // JSON itself
}

TEST_CASE("--socket among the words goes to the lookups") {
  Fake f;
  values({"--socket", "/x.sock", "show", ""}, &f);
  values({"--socket=/y.sock", "enqueue", ""}, &f);
  values({"show", ""}, &f);
  CHECK(f.sockets == Words{"/x.sock", "/y.sock", ""});
}

TEST_CASE("descriptions come along") {
  Tree t;
  Fake f;
  const auto got = jobq::complete_words(t.root, {"enq"}, f.sources());
  REQUIRE(got.size() == 1);
  CHECK(got[0].description == "enqueue a job");
  const auto jobs = jobq::complete_words(t.root, {"show", "12"}, f.sources());
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0].description == "running in reports");
}

TEST_CASE("jobq __complete: the real tree, with no jobqd to ask") {
  const char* old = ::getenv("JOBQ_SOCKET");
  const std::string saved = old != nullptr ? old : "";
  ::setenv("JOBQ_SOCKET", "/nonexistent/jobq-unit/jobq.sock", 1);
  std::string out, err;

  // Every subcommand --help lists is offered; the hidden one is not.
  REQUIRE(run_jobq({"--help"}, out, err) == 0);
  const std::string help = out;
  REQUIRE(run_jobq({"__complete", "--", ""}, out, err) == 0);
  const Words offered = lines(out);
  CHECK(err.empty());
  bool in_subcommands = false;
  int listed = 0;
  for (const auto& l : lines(help)) {
    if (l == "Subcommands:")
      in_subcommands = true;
    else if (in_subcommands && l.size() > 2 && l.substr(0, 2) == "  " && l[2] != ' ') {
      const std::string name = l.substr(2, l.find(' ', 2) - 2);
      CHECK_MESSAGE(has(offered, name), name);
      ++listed;
    }
  }
  CHECK(listed >= 10);
  CHECK_FALSE(has(offered, "__complete"));
  CHECK(help.find("__complete") == std::string::npos);

  REQUIRE(run_jobq({"__complete", "--", "list", "--state", "t"}, out, err) == 0);
  CHECK(lines(out) == Words{"timed_out"});
  REQUIRE(run_jobq({"__complete", "--describe", "--", "app", "cr"}, out, err) == 0);
  CHECK(out.rfind("create\t", 0) == 0);

  // What needs jobqd gives nothing, silently, and succeeds.
  for (const auto& words : {Words{"show", ""}, Words{"enqueue", ""}, Words{"list", "--app", ""}}) {
    Words args{"__complete", "--"};
    args.insert(args.end(), words.begin(), words.end());
    CHECK(run_jobq(args, out, err) == 0);
    CHECK(out.empty());
    CHECK(err.empty());
  }

  if (old != nullptr)
    ::setenv("JOBQ_SOCKET", saved.c_str(), 1);
  else
    ::unsetenv("JOBQ_SOCKET");
}
