// Cron expressions: what a schedule fires on, matched against civil (wall
// clock) time. Pure: no zone, no clock (schedule/slot.hpp maps civil times
// to instants in a zone).
//
// The syntax is cron's five fields, minute hour day-of-month month
// day-of-week, or six with a leading seconds field; or one of @yearly
// (@annually), @monthly, @weekly, @daily (@midnight), @hourly. A field is a
// comma-separated list of `*`, `N`, `N-M`, each optionally `/STEP`
// (`N/STEP`: from N to the field's end). Months and days of the week may be
// named (jan..dec, sun..sat, any case); day-of-week 7 is Sunday too. As in
// Vixie cron, when both day fields are restricted (neither starts with `*`)
// a day matches either; otherwise it must match both.
#pragma once

#include <bitset>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <cctz/civil_time.h>

namespace jobq {

// A bad expression; what() names the field and what is wrong with it.
class CronError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct CronExpr {
  std::bitset<60> seconds;
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days;     // 1-31
  std::bitset<13> months;   // 1-12
  std::bitset<7> weekdays;  // 0 (Sunday)-6
  bool days_star = false;   // the day-of-month field starts with `*`
  bool weekdays_star = false;
  bool has_seconds = false;  // six fields (else seconds is {0})
};

// Throws CronError.
CronExpr parse_cron(std::string_view text);

bool cron_day_matches(const CronExpr& e, const cctz::civil_day& day);
bool cron_matches(const CronExpr& e, const cctz::civil_second& t);

// The first civil second at or after `from` that the expression matches;
// nullopt when none comes within ten years (say, February 30th).
std::optional<cctz::civil_second> next_cron_match(const CronExpr& e, cctz::civil_second from);

}  // namespace jobq
