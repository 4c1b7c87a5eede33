// The subcommands that look at jobqd as a whole: status, top (a live view),
// metrics (Prometheus text), stats (history from the store) and prune.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

#include "cli_util.hpp"

namespace jobq {

void add_insight_commands(CLI::App& root, Globals& g, std::function<int()>& action);

}  // namespace jobq
