// How jobq reads a command line before and after CLI11 does, the same way at
// every level of commands:
// - read_command_words walks the command words (`jobq app list`) through the
//   options; an unknown word where a command was due gets the nearest name.
//   A command whose last positional is named `command` takes the rest of the
//   line as that command, as `docker run IMAGE CMD ARG...` does: its first
//   word and everything after belong to the command (`jobq enqueue APP echo
//   -n hi`), so a `--` is put before it for CLI11. jobq's options come before
//   the command; an explicit `--` still works.
// - report_parse_error prints what CLI11 refused as "jobq: error: ..." with
//   the command it concerns and a hint; a command given without its
//   subcommand (bare `jobq`, `jobq app`) prints its list of commands.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

namespace jobq {

struct CommandLine {
  std::vector<std::string> args;  // argv[1..], with the `--` added where a command begins
  CLI::App* command = nullptr;    // the deepest command named
  std::string error;              // an unknown command word, with its suggestion
};

CommandLine read_command_words(CLI::App& root, int argc, char** argv);

// "jobq app create" for a command of the tree.
std::string command_path(const CLI::App* cmd);

// Prints the error (or the help CLI11 was asked for) and returns the exit code.
int report_parse_error(CLI::App& root, CLI::App* command, const CLI::ParseError& e);

}  // namespace jobq
