// schedule/: cron expressions (parse, match, the next civil match) and
// slots in a time zone, across daylight-saving changes (Europe/Berlin:
// 2026-03-29 02:00 CET becomes 03:00 CEST; 2026-10-25 03:00 CEST becomes
// 02:00 CET).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "schedule/cron.hpp"
#include "schedule/slot.hpp"

using jobq::CronError;
using jobq::CronExpr;
using jobq::parse_cron;
using jobq::SlotTime;
using CS = cctz::civil_second;

namespace {

SlotTime utc(int y, int mo, int d, int h, int mi, int s = 0) {
  return cctz::convert(cctz::civil_second(y, mo, d, h, mi, s), cctz::utc_time_zone());
}

std::string error_of(const std::string& text) {
  try {
    parse_cron(text);
  } catch (const CronError& e) {
    return e.what();
  }
  return "";
}

template <std::size_t N>
std::vector<int> bits(const std::bitset<N>& b) {
  std::vector<int> out;
  for (std::size_t i = 0; i < N; ++i)
    if (b[i]) out.push_back(static_cast<int>(i));
  return out;
}

}  // namespace

TEST_CASE("cron: fields, lists, ranges, steps and names") {
  const CronExpr e = parse_cron("*/15 9-17 * * mon-fri");
  CHECK(bits(e.seconds) == std::vector<int>{0});
  CHECK(bits(e.minutes) == std::vector<int>{0, 15, 30, 45});
  CHECK(bits(e.hours) == std::vector<int>{9, 10, 11, 12, 13, 14, 15, 16, 17});
  CHECK(e.days.count() == 31);
  CHECK(e.months.count() == 12);
  CHECK(bits(e.weekdays) == std::vector<int>{1, 2, 3, 4, 5});
  CHECK_FALSE(e.has_seconds);

  const CronExpr six = parse_cron("  */20  5,7 1-3/2 10/7 JAN,Jul  7 ");
  CHECK(six.has_seconds);
  CHECK(bits(six.seconds) == std::vector<int>{0, 20, 40});
  CHECK(bits(six.minutes) == std::vector<int>{5, 7});
  CHECK(bits(six.hours) == std::vector<int>{1, 3});
  CHECK(bits(six.days) == std::vector<int>{10, 17, 24, 31});
  CHECK(bits(six.months) == std::vector<int>{1, 7});
  CHECK(bits(six.weekdays) == std::vector<int>{0});  // 7 is Sunday
}

TEST_CASE("cron: the @ names are their five fields") {
  const auto same = [](const std::string& a, const std::string& b) {
    const CronExpr x = parse_cron(a), y = parse_cron(b);
    return x.seconds == y.seconds && x.minutes == y.minutes && x.hours == y.hours &&
           x.days == y.days && x.months == y.months && x.weekdays == y.weekdays &&
           x.days_star == y.days_star && x.weekdays_star == y.weekdays_star;
  };
  CHECK(same("@yearly", "0 0 1 1 *"));
  CHECK(same("@ANNUALLY", "0 0 1 1 *"));
  CHECK(same("@monthly", "0 0 1 * *"));
  CHECK(same("@weekly", "0 0 * * 0"));
  CHECK(same("@daily", "0 0 * * *"));
  CHECK(same("@midnight", "0 0 * * *"));
  CHECK(same("@hourly", "0 * * * *"));
  CHECK_FALSE(same("@hourly", "0 0 * * *"));
  CHECK(error_of("@reboot").find("not a time") != std::string::npos);
  CHECK(error_of("@often").find("unknown @often") != std::string::npos);
}

TEST_CASE("cron: a bad expression says which field and why") {
  CHECK(error_of("60 * * * *") == "minute field '60': 60 is out of range (0-59)");
  CHECK(error_of("* 24 * * *") == "hour field '24': 24 is out of range (0-23)");
  CHECK(error_of("* * 0 * *") == "day-of-month field '0': 0 is out of range (1-31)");
  CHECK(error_of("* * * 13 *").find("month field '13'") == 0);
  CHECK(error_of("* * * * 8").find("day-of-week field '8'") == 0);
  CHECK(error_of("5-1 * * * *") == "minute field '5-1': the range 5-1 goes backwards");
  CHECK(error_of("*/0 * * * *") == "minute field '*/0': step 0 is out of range (1-60)");
  CHECK(error_of("*/x * * * *") == "minute field '*/x': step 'x' is not a number");
  CHECK(error_of("1,,2 * * * *") == "minute field '1,,2': an empty item in the list");
  CHECK(error_of("* * * foo *") == "month field 'foo': 'foo' is not a number or a name (jan, ...)");
  CHECK(error_of("x * * * *") == "minute field 'x': 'x' is not a number");
  CHECK(error_of("-5 * * * *") == "minute field '-5': a value is missing");
  CHECK(error_of("* * * *").find("has 4 fields") != std::string::npos);
  CHECK(error_of("* * * * * * *").find("has 7 fields") != std::string::npos);
  CHECK(error_of("").find("has 0 fields") != std::string::npos);
  CHECK(error_of(std::string(2000, '*')).find("longer than") != std::string::npos);
  CHECK(error_of("0 0 * * *").empty());
}

TEST_CASE("cron: both day fields restricted match either; one starting with * must both") {
  const CronExpr either = parse_cron("0 0 13 * fri");
  CHECK(jobq::cron_day_matches(either, cctz::civil_day(2026, 11, 13)));  // a Friday the 13th
  CHECK(jobq::cron_day_matches(either, cctz::civil_day(2026, 12, 13)));  // a Sunday
  CHECK(jobq::cron_day_matches(either, cctz::civil_day(2026, 12, 4)));   // a Friday
  CHECK_FALSE(jobq::cron_day_matches(either, cctz::civil_day(2026, 12, 5)));
  const CronExpr both = parse_cron("0 0 */2 * fri");
  CHECK(jobq::cron_day_matches(both, cctz::civil_day(2026, 11, 13)));       // odd day, Friday
  CHECK_FALSE(jobq::cron_day_matches(both, cctz::civil_day(2026, 12, 4)));  // even day
  CHECK_FALSE(jobq::cron_day_matches(both, cctz::civil_day(2026, 12, 3)));  // not a Friday
}

TEST_CASE("cron: the next civil match") {
  const auto next = [](const std::string& text, cctz::civil_second from) {
    return jobq::next_cron_match(parse_cron(text), from);
  };
  CHECK(next("*/15 * * * *", CS(2026, 11, 30, 10, 7, 30)) == CS(2026, 11, 30, 10, 15, 0));
  CHECK(next("*/15 * * * *", CS(2026, 11, 30, 10, 15, 0)) ==
        CS(2026, 11, 30, 10, 15, 0));  // at or after
  CHECK(next("0 0 * * *", CS(2026, 12, 31, 23, 59, 59)) == CS(2027, 1, 1, 0, 0, 0));
  CHECK(next("0 0 29 2 *", CS(2026, 3, 1, 0, 0, 0)) == CS(2028, 2, 29, 0, 0, 0));
  CHECK(next("0 0 29 2 *", CS(2096, 3, 1, 0, 0, 0)) == CS(2104, 2, 29, 0, 0, 0));
  CHECK(next("30 8 * * mon", CS(2026, 11, 30, 8, 30, 1)) == CS(2026, 12, 7, 8, 30, 0));
  CHECK(next("*/10 * * * * *", CS(2026, 11, 30, 10, 0, 51)) == CS(2026, 11, 30, 10, 1, 0));
  CHECK_FALSE(next("0 0 30 2 *", CS(2026, 1, 1, 0, 0, 0)));  // never
  CHECK_FALSE(next("0 0 31 4,6,9,11 *", CS(2026, 1, 1, 0, 0, 0)));
}

TEST_CASE("zones: names of the database, nothing else") {
  CHECK(jobq::load_zone("").name() == "UTC");
  CHECK(jobq::load_zone("UTC").name() == "UTC");
  CHECK(jobq::load_zone("Europe/Berlin").name() == "Europe/Berlin");
  CHECK_THROWS_AS(jobq::load_zone("Nowhere/City"), jobq::ZoneError);
  CHECK_THROWS_AS(jobq::load_zone("../../etc/passwd"), jobq::ZoneError);
  CHECK_THROWS_AS(jobq::load_zone("/etc/localtime"), jobq::ZoneError);
  CHECK_THROWS_AS(jobq::load_zone("Europe/Berlin\n"), jobq::ZoneError);
  CHECK_THROWS_AS(jobq::load_zone(std::string(300, 'a')), jobq::ZoneError);
}

TEST_CASE("slots: a skipped civil time falls at the end of the gap, once") {
  const auto berlin = jobq::load_zone("Europe/Berlin");
  // Daily at 02:30: the night that has no 02:30 runs at 03:00 CEST.
  CHECK(jobq::next_slots(parse_cron("30 2 * * *"), berlin, utc(2026, 3, 27, 12, 0), 3) ==
        std::vector<SlotTime>{utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 0),
                              utc(2026, 3, 30, 0, 30)});
  // Every 15 minutes: 02:00-02:45 and 03:00 are the one slot at 03:00 CEST.
  CHECK(jobq::next_slots(parse_cron("*/15 * * * *"), berlin, utc(2026, 3, 29, 0, 30), 3) ==
        std::vector<SlotTime>{utc(2026, 3, 29, 0, 45), utc(2026, 3, 29, 1, 0),
                              utc(2026, 3, 29, 1, 15)});
}

TEST_CASE("slots: a repeated civil time runs at its first occurrence only") {
  const auto berlin = jobq::load_zone("Europe/Berlin");
  CHECK(jobq::next_slots(parse_cron("30 2 * * *"), berlin, utc(2026, 10, 24, 12, 0), 2) ==
        std::vector<SlotTime>{utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)});
  CHECK(jobq::next_slots(parse_cron("*/30 * * * *"), berlin, utc(2026, 10, 24, 23, 45), 3) ==
        std::vector<SlotTime>{utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 0, 30),
                              utc(2026, 10, 25, 2, 0)});
  // Every second: 02:00:00-02:59:59 once (00:00-00:59:59 UTC), none in
  // the hour's second pass, then 03:00:00 CET.
  const auto slots =
      jobq::next_slots(parse_cron("* * * * * *"), berlin, utc(2026, 10, 24, 23, 59, 59), 3601);
  REQUIRE(slots.size() == 3601);
  CHECK(slots[3599] == utc(2026, 10, 25, 0, 59, 59));
  CHECK(slots[3600] == utc(2026, 10, 25, 2, 0, 0));
  // Asked again from inside the second pass (the clock set back): nothing
  // of the hour comes again.
  CHECK(jobq::next_slot(parse_cron("30 2 * * *"), berlin, utc(2026, 10, 25, 1, 15)) ==
        utc(2026, 10, 26, 1, 30));
}

TEST_CASE("slots: an expression that never fires has no slot") {
  CHECK_FALSE(
      jobq::next_slot(parse_cron("0 0 30 2 *"), cctz::utc_time_zone(), utc(2026, 1, 1, 0, 0)));
  CHECK(jobq::next_slots(parse_cron("0 0 30 2 *"), cctz::utc_time_zone(), utc(2026, 1, 1, 0, 0), 5)
            .empty());
}
