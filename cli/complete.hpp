// Shell completion, from the CLI's own tree so it never drifts from it.
// `jobq __complete [--describe] -- WORD...` (hidden) prints one candidate per
// line for the last WORD (the one under the cursor, possibly empty), the
// words being the command line after "jobq". Candidates come from walking the
// CLI11 App tree: subcommand names, option names (when the word starts with
// '-'), the words of an option checked by CLI::IsMember (--state), and, for
// what names an application, a job or a schedule (kValueKinds in
// complete.cpp, keyed by option or positional name), the names and ids jobqd
// knows. With --describe
// each line is "candidate<TAB>description" when there is a description.
// Where a file's path goes (--batch, --socket, --message @FILE) the one line
// is the directive ":files" or ":files LEAD": the shell completes a path
// after LEAD ("--socket=", "@"), which the current word starts with.
// Job ids come in jobqd's order (unfinished first, then newest), which the
// scripts keep (bash -o nosort, zsh -V, fish -k).
// completions/ holds the thin bash, zsh and fish scripts that call it.
// Asking jobqd is quick and silent: 300 ms at most, and any error means no
// candidates (nothing on stderr, exit 0).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace jobq {

struct Candidate {
  std::string value;
  std::string description;
};

// What only jobqd knows. Each function gets the --socket given among the
// words ("" if none) and returns no candidates on any error.
struct CompletionSources {
  std::function<std::vector<Candidate>(const std::string& socket_option)> apps;
  // Job ids, in the order to offer them (unfinished first, then newest).
  std::function<std::vector<Candidate>(const std::string& socket_option)> jobs;
  // The caller's schedules' names.
  std::function<std::vector<Candidate>(const std::string& socket_option)> schedules;
};

// The candidates for the last of `words` (an empty list counts as one empty
// word), already filtered by it.
std::vector<Candidate> complete_words(CLI::App& root, const std::vector<std::string>& words,
                                      const CompletionSources& sources);

// Asks jobqd at the given socket (resolved like every command: --socket,
// $JOBQ_SOCKET, the default), each call with a 300 ms timeout.
CompletionSources daemon_sources();

// Registers the hidden `__complete` subcommand on root; its callback sets
// `action` like every other subcommand's. The tree is walked when the action
// runs, so subcommands added after this call are completed too.
void add_complete_command(CLI::App& root, std::function<int()>& action);

}  // namespace jobq
