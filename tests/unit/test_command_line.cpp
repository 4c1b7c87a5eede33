// read_command_words: unknown command words at every level get the nearest
// name; a command's `command` positional takes the rest of the line.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "command_line.hpp"

namespace {

using Words = std::vector<std::string>;

struct Tree {
  CLI::App root{"test"};
  std::string s;
  std::vector<std::string> v;
  bool b = false;
  Tree() {
    root.add_option("--socket", s, "socket");
    auto* app = root.add_subcommand("app", "applications");
    app->add_subcommand("list", "list them");
    app->add_subcommand("create", "create one")->add_option("name", s, "name");
    auto* enqueue = root.add_subcommand("enqueue", "enqueue a job");
    enqueue->add_option("app", s, "app");
    enqueue->add_option("command", v, "command");
    enqueue->add_option("--env", v, "env")->type_size(1)->allow_extra_args(false);
    enqueue->add_flag("-q,--quiet", b, "quiet");
    root.add_subcommand("show", "show a job")->add_option("id", s, "id");
  }
  jobq::CommandLine read(Words words) {
    words.insert(words.begin(), "jobq");
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    return jobq::read_command_words(root, static_cast<int>(argv.size()), argv.data());
  }
};

}  // namespace

TEST_CASE("a command's arguments start at its first word: a -- is put before it") {
  Tree t;
  CHECK(t.read({"enqueue", "a", "echo", "-n", "hi"}).args ==
        Words{"enqueue", "a", "--", "echo", "-n", "hi"});
  CHECK(t.read({"--socket", "/s", "enqueue", "-q", "--env", "K=V", "a", "sh", "-c", "x"}).args ==
        Words{"--socket", "/s", "enqueue", "-q", "--env", "K=V", "a", "--", "sh", "-c", "x"});
  CHECK(t.read({"enqueue", "--env=K=V", "a", "true"}).args ==
        Words{"enqueue", "--env=K=V", "a", "--", "true"});
  // An explicit -- is left alone, as is a line with no command.
  CHECK(t.read({"enqueue", "a", "--", "echo", "-n"}).args ==
        Words{"enqueue", "a", "--", "echo", "-n"});
  CHECK(t.read({"enqueue", "a", "-q"}).args == Words{"enqueue", "a", "-q"});
  // Commands without a `command` positional are untouched.
  CHECK(t.read({"show", "7", "--json"}).args == Words{"show", "7", "--json"});
  CHECK(t.read({"enqueue", "a", "true"}).command->get_name() == "enqueue");
}

TEST_CASE("an unknown command word at any level gets the nearest name") {
  Tree t;
  CHECK(t.read({"app", "lst"}).error ==
        "unknown command 'lst'; did you mean 'list'? (see 'jobq app --help')");
  CHECK(t.read({"--socket", "/s", "shw", "1"}).error ==
        "unknown command 'shw'; did you mean 'show'? (see 'jobq --help')");
  CHECK(t.read({"app", "zzzzzz"}).error == "unknown command 'zzzzzz' (see 'jobq app --help')");
  const auto ok = t.read({"app", "create", "x"});
  CHECK(ok.error.empty());
  CHECK(jobq::command_path(ok.command) == "jobq app create");
  CHECK(t.read({"app"}).command->get_name() == "app");
}
