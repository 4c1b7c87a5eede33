// jobqd's log: spdlog's default logger, written to stderr in one of two
// styles, chosen once at start:
// - journal: stderr is a systemd journal stream (JOURNAL_STREAM names its
//   device and inode, see systemd::stderr_is_journal_stream). Each line is
//   "<N>text", N being the message's syslog priority (sd-daemon(3)'s
//   prefixes: 2 critical, 3 error, 4 warning, 6 info, 7 debug and trace),
//   with no timestamp, name or level of our own: the journal records them,
//   and `journalctl -p warning` filters by N. A message of several lines
//   gets the prefix on each, so that none falls back to the default
//   priority.
// - plain (anywhere else, also when stderr was redirected away from the
//   journal): spdlog's usual "[2026-01-02 03:04:05.678] [jobqd] [info] text",
//   coloured on a terminal.
#pragma once

#include <cstdio>
#include <memory>
#include <string>

#include <spdlog/logger.h>

namespace jobq {

enum class LogStyle { plain, journal };

// journal when stderr is the stream JOURNAL_STREAM names, else plain.
LogStyle daemon_log_style();

// The syslog priority (0..7) journal lines carry for a spdlog level.
int journal_priority(spdlog::level::level_enum level);

// A logger named "jobqd" writing journal lines to `out` (not owned; it must
// outlive the logger).
std::shared_ptr<spdlog::logger> make_journal_logger(std::FILE* out);

// Makes the logger for daemon_log_style() on stderr spdlog's default, at
// `level` (trace, debug, info, warn, error). Call it once, early in main.
void setup_daemon_log(const std::string& level);

}  // namespace jobq
