#include "jobq_cli.hpp"

#include <unistd.h>

#include <algorithm>
#include <iostream>

#include <CLI/CLI.hpp>

#include "base/paths.hpp"
#include "cli_util.hpp"
#include "command_line.hpp"
#include "commands.hpp"
#include "complete.hpp"
#include "exit_codes.hpp"
#include "render.hpp"
#include "wire/client.hpp"
#include "wire/protocol.hpp"

namespace jobq {

using nlohmann::json;

namespace {

int code_for(ErrorCode c) {
  switch (c) {
    case ErrorCode::not_found:
      return exit_code::not_found;
    case ErrorCode::forbidden:
      return exit_code::forbidden;
    case ErrorCode::timeout:
      return exit_code::wait_timeout;
    case ErrorCode::internal:
    case ErrorCode::unsupported_version:
      return exit_code::internal;
    default:
      return exit_code::failure;
  }
}

// `command`: the deepest command named (its parent says whose subject).
std::string hint_for(ErrorCode c, const CLI::App* command) {
  const CLI::App* top = command;
  while (top && top->get_parent() && top->get_parent()->get_parent()) top = top->get_parent();
  switch (c) {
    case ErrorCode::not_found:
      if (top && top->get_name() == "schedule") return " (see 'jobq schedule list')";
      return " (see 'jobq list' or 'jobq app list')";
    case ErrorCode::engine:
      return " (is dockerd running? see 'jobq status')";
    case ErrorCode::internal:
      return " (see jobqd's log)";
    default:
      return "";
  }
}

}  // namespace

int jobq_main(int argc, char** argv) {
  CLI::App root{"jobq: a local job queue for Docker containers. Talks to jobqd."};
  root.name("jobq");
  root.set_version_flag("--version", std::string("jobq ") + JOBQ_VERSION);
  root.require_subcommand(1);
  // Warn once (stderr, never in --json output) when jobqd speaks another
  // revision of the protocol; an incompatible version is refused by jobqd.
  const bool completing = argc > 1 && std::string_view(argv[1]) == "__complete";
  on_server_revision([completing](int revision, const std::string& server) {
    static bool warned = false;
    if (revision == kProtocolRevision || warned || completing) return;
    warned = true;
    std::cerr << "jobq: warning: jobqd " << server << " speaks protocol " << kProtocolVersion
              << " revision " << revision << ", this jobq " << JOBQ_VERSION << " revision "
              << kProtocolRevision << "; "
              << (revision < kProtocolRevision
                      ? "newer commands and options may be refused: upgrade jobqd"
                      : "upgrade jobq to use all of jobqd")
              << '\n';
  });
  Globals g;
  root.add_option("--socket", g.socket,
                  "jobqd's socket (default: $JOBQ_SOCKET, else your own jobqd's "
                  "($XDG_RUNTIME_DIR/jobq/jobq.sock) if one answers, else the system's "
                  "(/run/jobq/jobq.sock))");
  root.add_option("--connect-timeout", g.connect_timeout,
                  "Keep trying to reach jobqd this long (default 30s; 0: fail at once)");
  Action action;
  add_app_commands(root, g, action);
  add_enqueue_command(root, g, action);
  add_run_command(root, g, action);
  add_job_commands(root, g, action);
  add_logs_command(root, g, action);
  add_wait_command(root, g, action);
  add_insight_commands(root, g, action);
  add_schedule_commands(root, g, action);
  add_complete_command(root, action);  // hidden; completes every command above

  // Unknown command words get a suggestion at every level; a command's own
  // arguments are marked off (see command_line.hpp).
  CommandLine line = read_command_words(root, argc, argv);
  const auto end = std::find(line.args.begin(), line.args.end(), "--");
  const bool json_asked = std::find(line.args.begin(), end, "--json") != end;
  if (!line.error.empty()) {
    std::cerr << "jobq: error: " << line.error << '\n';
    if (json_asked) print_json(error_document(exit_code::usage, line.error));
    return exit_code::usage;
  }
  try {
    std::vector<std::string> reversed(line.args.rbegin(), line.args.rend());  // CLI11 takes them so
    root.parse(reversed);
  } catch (const CLI::ParseError& e) {
    const int rc = report_parse_error(root, line.command, e);
    if (rc != exit_code::ok && json_asked) print_json(error_document(rc, e.what()));
    return rc;
  }
  // With --json, an error is also a document on stdout (cli_util.hpp).
  bool as_json = false;
  for (CLI::App* a = &root; a != nullptr;) {
    if (const CLI::Option* o = a->get_option_no_throw("--json"); o != nullptr && o->count() > 0)
      as_json = true;
    const auto subs = a->get_subcommands();
    a = subs.empty() ? nullptr : subs.front();
  }
  const auto fail = [as_json](int code, const std::string& message, const std::string& hint,
                              const std::string& jobqd_error = "") {
    std::cerr << "jobq: error: " << message << hint << '\n';
    if (as_json) print_json(error_document(code, message, jobqd_error));
    return code;
  };
  try {
    return action ? action() : exit_code::usage;
  } catch (const UsageError& e) {
    return fail(exit_code::usage, e.what(), "");
  } catch (const ClientError& e) {
    return fail(exit_code::unreachable, e.what(), "");
  } catch (const ProtocolError& e) {
    // The daemon's message may quote what another user wrote.
    return fail(code_for(e.code()), render::visible(e.what()), hint_for(e.code(), line.command),
                std::string(to_string(e.code())));
  } catch (const std::exception& e) {
    return fail(exit_code::internal, e.what(), "");
  }
}

}  // namespace jobq