// The CLI's subcommands, one file per subject. Each add_* function adds its
// commands to the CLI11 tree; a command's callback sets `action`, which
// jobq_main runs after parsing (errors are mapped to exit codes there, once).
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

#include "cli_util.hpp"

namespace jobq {

using Action = std::function<int()>;

void add_app_commands(CLI::App& root, Globals& g, Action& action);      // app_commands.cpp
void add_enqueue_command(CLI::App& root, Globals& g, Action& action);   // enqueue_command.cpp
void add_job_commands(CLI::App& root, Globals& g, Action& action);      // job_commands.cpp
void add_logs_command(CLI::App& root, Globals& g, Action& action);      // logs_command.cpp
void add_wait_command(CLI::App& root, Globals& g, Action& action);      // wait_command.cpp
void add_insight_commands(CLI::App& root, Globals& g, Action& action);  // insight_commands.cpp

}  // namespace jobq
