// time_util: parsing Docker's RFC 3339 times and human durations, and the
// daemon's own timestamps.
#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <string>

#include "base/time_util.hpp"

using jobq::parse_duration;
using jobq::parse_rfc3339_ns;
using std::chrono::milliseconds;

namespace {
constexpr std::int64_t kSec = 1'000'000'000;
constexpr std::int64_t k20261121T0032 = 1'795'221'120;  // 2026-11-21T00:32:00Z, in seconds
}  // namespace

TEST_CASE("parse_rfc3339_ns reads whole seconds in UTC") {
  CHECK(parse_rfc3339_ns("1970-01-01T00:00:00Z") == 0);
  CHECK(parse_rfc3339_ns("2026-11-21T00:32:00Z") == k20261121T0032 * kSec);
  CHECK(parse_rfc3339_ns("2000-02-29T12:00:00Z") == std::int64_t{951'825'600} * kSec);
  CHECK(parse_rfc3339_ns("1969-12-31T23:59:59Z") == -kSec);
  // Lower-case separators are allowed by RFC 3339.
  CHECK(parse_rfc3339_ns("2026-11-21t00:32:00z") == k20261121T0032 * kSec);
}

TEST_CASE("parse_rfc3339_ns reads Docker's trimmed nanoseconds") {
  // Docker trims trailing zeros: .8577215 is 857721500 ns.
  CHECK(parse_rfc3339_ns("2026-11-21T00:32:00.8577215Z") == k20261121T0032 * kSec + 857'721'500);
  CHECK(parse_rfc3339_ns("2026-11-21T00:32:00.5Z") == k20261121T0032 * kSec + 500'000'000);
  CHECK(parse_rfc3339_ns("2026-11-21T00:32:00.000000001Z") == k20261121T0032 * kSec + 1);
  CHECK(parse_rfc3339_ns("2026-11-21T00:32:00.123456789Z") == k20261121T0032 * kSec + 123'456'789);
  // Beyond nanoseconds the digits are ignored, not an error.
  CHECK(parse_rfc3339_ns("2026-11-21T00:32:00.1234567899Z") == k20261121T0032 * kSec + 123'456'789);
}

TEST_CASE("parse_rfc3339_ns applies offsets") {
  const auto utc = parse_rfc3339_ns("2026-11-21T00:32:00Z");
  REQUIRE(utc);
  CHECK(parse_rfc3339_ns("2026-11-21T02:32:00+02:00") == utc);
  CHECK(parse_rfc3339_ns("2026-11-20T19:02:00-05:30") == utc);
  CHECK(parse_rfc3339_ns("2026-11-21T00:32:00+00:00") == utc);
  CHECK(parse_rfc3339_ns("2026-11-21T01:32:00.25+01:00") == *utc + 250'000'000);
}

TEST_CASE("parse_rfc3339_ns: Docker's zero time means never") {
  CHECK_FALSE(parse_rfc3339_ns("0001-01-01T00:00:00Z"));
  CHECK_FALSE(parse_rfc3339_ns("0001-01-01T00:00:00.000000000Z"));
}

TEST_CASE("parse_rfc3339_ns rejects malformed times") {
  for (const char* bad : {
           "",
           "garbage",
           "2026-11-21",
           "2026-11-21T00:32:00",       // no zone
           "2026-11-21 00:32:00Z",      // space instead of T
           "2026-11-21T00:32:00.Z",     // dot without digits
           "2026-11-21T00:32:00ZZ",     // trailing garbage
           "2026-11-21T00:32:00+0200",  // offset without colon
           "2026-11-21T00:32:00+02",    // short offset
           "2026-13-01T00:00:00Z",      // month 13
           "2026-00-10T00:00:00Z",      // month 0
           "2026-11-00T00:00:00Z",      // day 0
           "2026-11-32T00:00:00Z",      // day 32
           "2026-11-21T24:00:00Z",      // hour 24
           "2026-11-21T00:60:00Z",      // minute 60
           "2026-11-21T00:32:61Z",      // second 61
           "2O26-11-21T00:32:00Z",      // letter O in the year
           "2026/11/21T00:32:00Z",
       }) {
    CAPTURE(bad);
    CHECK_FALSE(parse_rfc3339_ns(bad));
  }
}

TEST_CASE("parse_rfc3339_ns rejects days the month does not have") {
  // BUG (lib/time_util.cpp:46): only 1 <= day <= 31 is checked, so these are
  // accepted and silently become a day of the next month.
  CHECK_FALSE(parse_rfc3339_ns("2026-02-31T00:00:00Z"));
  CHECK_FALSE(parse_rfc3339_ns("2026-04-31T00:00:00Z"));
  CHECK_FALSE(parse_rfc3339_ns("2025-02-29T00:00:00Z"));  // not a leap year
}

TEST_CASE("format_rfc3339 writes UTC with nine fraction digits and parses back") {
  using namespace std::chrono;
  const system_clock::time_point t{
      duration_cast<system_clock::duration>(seconds(k20261121T0032) + nanoseconds(857'721'500))};
  const std::string s = jobq::format_rfc3339(t);
  CHECK(s == "2026-11-21T00:32:00.857721500Z");
  CHECK(parse_rfc3339_ns(s) == k20261121T0032 * kSec + 857'721'500);

  const std::string now = jobq::now_rfc3339();
  CHECK(now.size() == 30);
  CHECK(parse_rfc3339_ns(now).has_value());
}

TEST_CASE("parse_duration reads units and sums of them") {
  CHECK(parse_duration("500ms") == milliseconds(500));
  CHECK(parse_duration("10s") == milliseconds(10'000));
  CHECK(parse_duration("5m") == milliseconds(300'000));
  CHECK(parse_duration("1h") == milliseconds(3'600'000));
  CHECK(parse_duration("1h30m") == milliseconds(5'400'000));
  CHECK(parse_duration("1m30s250ms") == milliseconds(90'250));
  CHECK(parse_duration("2d") == milliseconds(172'800'000));
  CHECK(parse_duration("1.5s") == milliseconds(1'500));
  CHECK(parse_duration("0s") == milliseconds(0));
}

TEST_CASE("parse_duration: a bare number is seconds") {
  CHECK(parse_duration("2") == milliseconds(2'000));
  CHECK(parse_duration("90") == milliseconds(90'000));
}

TEST_CASE("parse_duration rejects what is not a duration") {
  for (const char* bad : {"", "s", "ms", "abc", "-5s", "+5s", "5x", "5 s", " 5s", "5s ", "10S",
                          "1h30", "5m2", ".", "1e3s", "5sec", "99999999999999999h"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_duration(bad));
  }
}

TEST_CASE("parse_duration rejects numbers with two decimal points") {
  // BUG (lib/time_util.cpp:94-99): the digits-and-dots run is handed to
  // std::stod, which stops at the second '.', so "1.2.3s" reads as 1.2s.
  CHECK_FALSE(parse_duration("1.2.3s"));
  CHECK_FALSE(parse_duration("1..5m"));
}

TEST_CASE("parse_rfc3339_ns refuses years its nanoseconds cannot hold (found by fuzz_inspect)") {
  CHECK_FALSE(jobq::parse_rfc3339_ns("0002-01-01T00:00:00Z").has_value());
  CHECK_FALSE(jobq::parse_rfc3339_ns("1677-12-31T23:59:59Z").has_value());
  CHECK_FALSE(jobq::parse_rfc3339_ns("2262-01-01T00:00:00Z").has_value());
  CHECK(jobq::parse_rfc3339_ns("1678-01-01T00:00:00Z").has_value());
  CHECK(jobq::parse_rfc3339_ns("2261-12-31T23:59:59.999999999Z").has_value());
}
