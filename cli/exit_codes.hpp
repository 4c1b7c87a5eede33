// The exit codes of `jobq`, documented in jobq(1) and the README. Scripts
// depend on them: never renumber. `jobq wait` otherwise exits with the job's
// own exit code (0-255), which these may overlap; --json tells them apart.
#pragma once

#include <string_view>

namespace jobq::exit_code {
inline constexpr int ok = 0;
inline constexpr int failure = 1;         // the daemon refused the request
inline constexpr int usage = 64;          // bad command line
inline constexpr int not_found = 66;      // no such job or application
inline constexpr int unreachable = 69;    // jobqd is not running / cannot be reached
inline constexpr int forbidden = 77;      // your role does not allow it
inline constexpr int internal = 70;       // protocol or daemon-side failure
inline constexpr int wait_timeout = 124;  // jobq wait --timeout ran out
inline constexpr int no_exit_code = 125;  // job ended without one (cancelled, lost, launch failed)
inline constexpr int interrupted = 130;   // jobq run: Ctrl-C (the job left running, or cancelled)

// The word for a code in --json error documents ("meaning"); stable too.
constexpr std::string_view meaning(int code) {
  switch (code) {
    case ok:
      return "ok";
    case failure:
      return "refused";
    case usage:
      return "usage";
    case not_found:
      return "not_found";
    case unreachable:
      return "unreachable";
    case forbidden:
      return "forbidden";
    case internal:
      return "internal";
    case wait_timeout:
      return "timeout";
    case no_exit_code:
      return "no_exit_code";
    case interrupted:
      return "interrupted";
    default:
      return "job_exit_code";
  }
}
}  // namespace jobq::exit_code
