#include "jobq_cli.hpp"

#include <unistd.h>

#include <iostream>

#include <CLI/CLI.hpp>

#include "client.hpp"
#include "complete.hpp"
#include "cli_util.hpp"
#include "exit_codes.hpp"
#include "commands.hpp"
#include "paths.hpp"
#include "protocol.hpp"
#include "render.hpp"
#include "suggest.hpp"

namespace jobq {

using nlohmann::json;

namespace {

int code_for(ErrorCode c) {
  switch (c) {
    case ErrorCode::not_found: return exit_code::not_found;
    case ErrorCode::forbidden: return exit_code::forbidden;
    case ErrorCode::timeout: return exit_code::wait_timeout;
    case ErrorCode::internal:
    case ErrorCode::unsupported_version: return exit_code::internal;
    default: return exit_code::failure;
  }
}

std::string hint_for(ErrorCode c) {
  switch (c) {
    case ErrorCode::not_found: return " (see 'jobq list' or 'jobq app list')";
    case ErrorCode::engine: return " (is dockerd running? see 'jobq status')";
    case ErrorCode::internal: return " (see jobqd's log)";
    default: return "";
  }
}

}  // namespace

int jobq_main(int argc, char** argv) {
  CLI::App root{"jobq: a local job queue for Docker containers. Talks to jobqd."};
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
              << (revision < kProtocolRevision ? "newer commands and options may be refused: upgrade jobqd"
                                               : "upgrade jobq to use all of jobqd")
              << '\n';
  });
  Globals g;
  root.add_option("--socket", g.socket, "jobqd's socket (default: $JOBQ_SOCKET, /run/jobq/jobq.sock for root, "
                  "$XDG_RUNTIME_DIR/jobq/jobq.sock otherwise)");
  Action action;
  add_app_commands(root, g, action);
  add_enqueue_command(root, g, action);
  add_run_command(root, g, action);
  add_job_commands(root, g, action);
  add_logs_command(root, g, action);
  add_wait_command(root, g, action);
  add_insight_commands(root, g, action);
  add_complete_command(root, action);  // hidden; completes every command above

  // An unknown subcommand gets a suggestion, not just "not expected".
  if (argc > 1 && argv[1][0] != '-') {
    const std::string given = argv[1];
    std::vector<std::string> names;
    for (const auto* sub : root.get_subcommands({}))  // hidden ones (__complete) are never suggested
      if (!sub->get_group().empty() || sub->get_name() == given) names.push_back(sub->get_name());
    if (std::find(names.begin(), names.end(), given) == names.end()) {
      const std::string best = nearest_name(given, names);
      std::cerr << "jobq: error: unknown command '" << given << "'";
      if (!best.empty()) std::cerr << "; did you mean '" << best << "'?";
      std::cerr << " (see 'jobq --help')\n";
      return exit_code::usage;
    }
  }
  try {
    root.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = root.exit(e);
    return rc == 0 ? exit_code::ok : exit_code::usage;
  }
  try {
    return action ? action() : exit_code::usage;
  } catch (const UsageError& e) {
    std::cerr << "jobq: error: " << e.what() << '\n';
    return exit_code::usage;
  } catch (const ClientError& e) {
    std::cerr << "jobq: error: " << e.what() << '\n';
    return exit_code::unreachable;
  } catch (const ProtocolError& e) {
    // The daemon's message may quote what another user wrote.
    std::cerr << "jobq: error: " << render::visible(e.what()) << hint_for(e.code()) << '\n';
    return code_for(e.code());
  } catch (const std::exception& e) {
    std::cerr << "jobq: error: " << e.what() << '\n';
    return exit_code::internal;
  }
}

}  // namespace jobq