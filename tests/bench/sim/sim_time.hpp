// The simulator's clock and Docker's time formats: wall-clock nanoseconds,
// RFC 3339 as Docker writes it, and Docker's since/until parameters.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace sim {

// Nanoseconds since the epoch (CLOCK_REALTIME).
std::int64_t now_ns();

// RFC 3339 in UTC. `fixed`: always nine fraction digits (Docker's log
// timestamps); otherwise Go's RFC3339Nano, trailing zeros trimmed (Docker's
// StartedAt/FinishedAt). 0 is Docker's "never".
std::string rfc3339(std::int64_t ns, bool fixed);

// Docker's since/until: Unix seconds with an optional fraction. nullopt when malformed.
std::optional<std::int64_t> parse_unix_time(const std::string& s);

}  // namespace sim
