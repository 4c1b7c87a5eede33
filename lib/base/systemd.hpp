// The two pieces of systemd's service protocol jobqd speaks, without
// libsystemd:
// - socket activation (sd_listen_fds(3)): when LISTEN_PID is our pid,
//   LISTEN_FDS sockets were passed to us, starting at fd 3;
// - readiness notification (sd_notify(3)): datagrams such as "READY=1" or
//   "STOPPING=1" sent to the Unix socket named by $NOTIFY_SOCKET (a path, or
//   an abstract name written with a leading '@');
// and whether stderr goes to the journal (systemd.exec(5), JOURNAL_STREAM).
// Outside systemd (no such variable set) these are no-ops.
#pragma once

#include <string>
#include <vector>

namespace jobq::systemd {

inline constexpr int kListenFdsStart = 3;

// The file descriptors passed by socket activation (empty when none were
// passed to this process), each made close-on-exec. LISTEN_PID, LISTEN_FDS
// and LISTEN_FDNAMES are removed from the environment either way, so that
// they are never inherited. Throws std::runtime_error for a malformed
// LISTEN_FDS. Call it once, before starting threads (it edits the
// environment).
std::vector<int> take_listen_fds();

// Sends `state` (newline-separated assignments, e.g. "READY=1") to
// $NOTIFY_SOCKET. Returns false when there is no such variable (not run by
// systemd, nothing to do); throws std::runtime_error when the variable is
// set but the message cannot be delivered. Safe to call from any thread.
bool notify(const std::string& state);

// True when `journal_stream` (JOURNAL_STREAM's value, "DEVICE:INODE" in
// decimal, as systemd sets it for a unit whose output goes to the journal)
// names the file open as `fd`. False when it is null, malformed or names
// another file: output redirected elsewhere by the unit's command keeps the
// variable but is no longer the journal.
bool is_journal_stream(int fd, const char* journal_stream);

// is_journal_stream(2, getenv("JOURNAL_STREAM")).
bool stderr_is_journal_stream();

}  // namespace jobq::systemd
