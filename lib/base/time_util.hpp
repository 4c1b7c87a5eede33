// Time helpers: the daemon's own timestamps (RFC 3339, UTC, nanoseconds),
// human durations ("90s", "5m", "1h30m", "250ms"; a bare number is seconds),
// and times as people read them (local time, per TZ, with its zone).
// Docker's own times are never produced here: they are stored as reported.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace jobq {

std::string now_rfc3339();
// The system clock as nanoseconds since the epoch.
std::int64_t now_unix_ns();
// The inverse of parse_rfc3339_ns, in the daemon's own format.
std::string format_unix_ns(std::int64_t ns);
// The same for Unix seconds (a schedule's slot).
std::string format_unix_s(std::int64_t seconds);
std::string format_rfc3339(std::chrono::system_clock::time_point t);

// Nanoseconds since the epoch of an RFC 3339 time (as Docker reports it), or
// nullopt for a malformed one, Docker's zero time (0001-01-01T00:00:00Z), or
// a year outside 1678..2261 (what int64 nanoseconds can hold).
std::optional<std::int64_t> parse_rfc3339_ns(std::string_view s);

std::optional<std::chrono::milliseconds> parse_duration(std::string_view s);

// A moment in the local time zone (TZ, read again at each call) with the
// zone's abbreviation: "2026-11-30 06:51:02 CET"; "%H:%M:%S %Z" only with
// `time_only`.
std::string format_local_ns(std::int64_t ns, bool time_only = false);
// The same for an RFC 3339 time; "-" when it is unset, Docker's zero time or
// malformed.
std::string format_local(std::string_view rfc3339, bool time_only = false);

// A moment as people write it, as unix nanoseconds: RFC 3339
// ("2026-11-21T02:00:00Z"), or in local time "YYYY-MM-DD HH:MM[:SS]", or
// "HH:MM[:SS]" (the next such time: today, or tomorrow if it has passed).
std::optional<std::int64_t> parse_when(std::string_view s,
                                       std::chrono::system_clock::time_point now);

}  // namespace jobq
