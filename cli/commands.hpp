// The CLI's subcommands, one file per subject. Each add_* function adds its
// commands to the CLI11 tree; a command's callback sets `action`, which
// jobq_main runs after parsing (errors are mapped to exit codes there, once).
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

#include "cli_util.hpp"

namespace jobq {

using Action = std::function<int()>;

void add_app_commands(CLI::App& root, Globals& g, Action& action);       // app_commands.cpp
void add_enqueue_command(CLI::App& root, Globals& g, Action& action);    // enqueue_command.cpp
void add_job_commands(CLI::App& root, Globals& g, Action& action);       // job_commands.cpp
void add_logs_command(CLI::App& root, Globals& g, Action& action);       // logs_command.cpp
void add_wait_command(CLI::App& root, Globals& g, Action& action);       // wait_command.cpp
void add_insight_commands(CLI::App& root, Globals& g, Action& action);   // insight_commands.cpp
void add_run_command(CLI::App& root, Globals& g, Action& action);        // run_command.cpp
void add_schedule_commands(CLI::App& root, Globals& g, Action& action);  // schedule_commands.cpp

// `jobq wait`'s exit code for ended jobs (also `jobq run`'s): 0 when all
// succeeded, else the first failed job's own non-zero exit code, or 125
// (no_exit_code) for one that ended without one (wait_command.cpp).
int wait_exit_code(const nlohmann::json& jobs);

}  // namespace jobq
