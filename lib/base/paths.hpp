// Where jobq's socket and state live. Both binaries resolve them the same way:
// an explicit option, else the environment ($JOBQ_SOCKET, $JOBQ_STATE_DIR),
// else the default for the user: root uses /run/jobq/jobq.sock and
// /var/lib/jobq; others $XDG_RUNTIME_DIR/jobq/jobq.sock and
// $XDG_STATE_HOME/jobq (~/.local/state/jobq). jobq, given no socket, looks
// for jobqd in two places (client_socket_paths): the user's own, then the
// system's, as docker finds /var/run/docker.sock.
#pragma once

#include <string>
#include <vector>

namespace jobq {

std::string default_socket_path();
std::string default_state_dir();
std::string resolve_socket_path(const std::string& option);
std::string resolve_state_dir(const std::string& option);

// The system jobqd's socket (the packaged jobqd's): /run/jobq/jobq.sock.
// $JOBQ_TEST_SYSTEM_SOCKET replaces it; that variable exists for tests only.
std::string system_socket_path();
// Where jobq looks for jobqd, in order: the option alone; else $JOBQ_SOCKET
// alone; else the user's own socket (default_socket_path()) and then the
// system's (one place for root, whose own socket is the system's).
std::vector<std::string> client_socket_paths(const std::string& option);

// mkdir -p with `mode` for the directories it creates. Throws on failure.
void make_dirs(const std::string& path, unsigned mode);

// The directory holding `path` ("." or "/" at the top).
std::string parent_dir(const std::string& path);
// A directory of jobqd's own (`what` names it in messages: "the socket's
// directory"): owned by jobqd's user or root and writable by no one else,
// unless sticky_ok and it is sticky (like /tmp). Throws std::runtime_error
// saying who else could do what (`threat`) and how to fix it.
void check_own_dir(const std::string& dir, const std::string& what, bool sticky_ok,
                   const std::string& threat);
// jobqd's state directory must be its own: owned by jobqd's user or root,
// writable by no one else, in a parent that others cannot rename it out of
// (not writable by others, unless sticky). Throws std::runtime_error saying
// what is wrong and how to fix it.
void check_state_dir(const std::string& dir);
// Opens (creating it 0600) a file of jobqd's own without following a link:
// refuses anything but a regular file owned by jobqd's user, and takes away
// any permission beyond 0600. Returns the descriptor (O_RDWR, O_CLOEXEC).
int open_private_file(const std::string& path);

// The client's check of the socket it is about to trust with a request: its
// directory belongs to root or to the caller and no one else may write in it
// (a sticky directory such as /tmp aside); in a directory others may write
// in, the socket itself belongs to root or to the caller. Throws
// std::runtime_error naming the owner and what to do; a socket that does not
// exist passes (connecting says so).
void check_socket_owner(const std::string& socket_path);

}  // namespace jobq
