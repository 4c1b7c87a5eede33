// Where jobq's socket and state live. Both binaries resolve them the same way:
// an explicit option, else the environment ($JOBQ_SOCKET, $JOBQ_STATE_DIR),
// else the default for the user: root uses /run/jobq/jobq.sock and
// /var/lib/jobq; others $XDG_RUNTIME_DIR/jobq/jobq.sock and
// $XDG_STATE_HOME/jobq (~/.local/state/jobq).
#pragma once

#include <string>

namespace jobq {

std::string default_socket_path();
std::string default_state_dir();
std::string resolve_socket_path(const std::string& option);
std::string resolve_state_dir(const std::string& option);

// mkdir -p with `mode` for the directories it creates. Throws on failure.
void make_dirs(const std::string& path, unsigned mode);

}  // namespace jobq
