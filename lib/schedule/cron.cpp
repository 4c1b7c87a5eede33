#include "schedule/cron.hpp"

#include <array>
#include <cctype>
#include <charconv>
#include <span>
#include <string>
#include <vector>

namespace jobq {

namespace {

constexpr std::size_t kMaxText = 1024;

struct Field {
  const char* name;
  int lo;
  int hi;                              // day-of-week: 7, read as 0 (Sunday)
  std::span<const char* const> names;  // of lo, lo + 1, ...: none when empty
};

constexpr std::array<const char*, 12> kMonths = {"jan", "feb", "mar", "apr", "may", "jun",
                                                 "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<const char*, 7> kWeekdays = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

constexpr Field kSecond{"second", 0, 59, {}};
constexpr Field kMinute{"minute", 0, 59, {}};
constexpr Field kHour{"hour", 0, 23, {}};
constexpr Field kDay{"day-of-month", 1, 31, {}};
constexpr Field kMonth{"month", 1, 12, kMonths};
constexpr Field kWeekday{"day-of-week", 0, 7, kWeekdays};

[[noreturn]] void fail(const Field& f, std::string_view text, const std::string& why) {
  throw CronError(std::string(f.name) + " field '" + std::string(text) + "': " + why);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

int value_of(const Field& f, std::string_view item, std::string_view field_text) {
  if (item.empty()) fail(f, field_text, "a value is missing");
  int v = 0;
  const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
  if (ec == std::errc() && end == item.data() + item.size()) {
    if (v < f.lo || v > f.hi)
      fail(f, field_text,
           std::string(item) + " is out of range (" + std::to_string(f.lo) + "-" +
               std::to_string(f.hi) + ")");
    return v;
  }
  const std::string name = lower(item);
  for (std::size_t i = 0; i < f.names.size(); ++i)
    if (name == f.names[i]) return f.lo + static_cast<int>(i);
  fail(f, field_text,
       "'" + std::string(item) + "' is not a number" +
           (f.names.empty() ? std::string() : std::string(" or a name (") + f.names[0] + ", ...)"));
}

template <std::size_t N>
void parse_field(const Field& f, std::string_view text, std::bitset<N>& out) {
  if (text.empty()) fail(f, text, "empty");
  std::size_t at = 0;
  for (;;) {
    const std::size_t comma = text.find(',', at);
    const std::string_view item =
        text.substr(at, comma == std::string_view::npos ? std::string_view::npos : comma - at);
    if (item.empty()) fail(f, text, "an empty item in the list");
    std::string_view range = item;
    int step = 1;
    bool stepped = false;
    if (const auto slash = item.find('/'); slash != std::string_view::npos) {
      range = item.substr(0, slash);
      const std::string_view s = item.substr(slash + 1);
      const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), step);
      if (ec != std::errc() || end != s.data() + s.size() || s.empty())
        fail(f, text, "step '" + std::string(s) + "' is not a number");
      if (step < 1 || step > f.hi - f.lo + 1)
        fail(f, text,
             "step " + std::string(s) + " is out of range (1-" + std::to_string(f.hi - f.lo + 1) +
                 ")");
      stepped = true;
    }
    int lo = f.lo;
    int hi = f.hi;
    if (range != "*") {
      if (const auto dash = range.find('-'); dash != std::string_view::npos) {
        lo = value_of(f, range.substr(0, dash), text);
        hi = value_of(f, range.substr(dash + 1), text);
        if (hi < lo) fail(f, text, "the range " + std::string(range) + " goes backwards");
      } else {
        lo = value_of(f, range, text);
        hi = stepped ? f.hi : lo;  // N/STEP: from N to the field's end
      }
    }
    for (int v = lo; v <= hi; v += step)
      out.set(static_cast<std::size_t>(&f == &kWeekday && v == 7 ? 0 : v));  // 7: Sunday
    if (comma == std::string_view::npos) break;
    at = comma + 1;
  }
}

std::string_view macro(std::string_view text) {
  const std::string name = lower(text);
  if (name == "@yearly" || name == "@annually") return "0 0 1 1 *";
  if (name == "@monthly") return "0 0 1 * *";
  if (name == "@weekly") return "0 0 * * 0";
  if (name == "@daily" || name == "@midnight") return "0 0 * * *";
  if (name == "@hourly") return "0 * * * *";
  if (name == "@reboot")
    throw CronError("@reboot is not a time: a schedule fires on times of the clock");
  throw CronError("unknown " + std::string(text) +
                  " (@yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)");
}

// cctz's weekdays run monday (0) to sunday (6); cron's from Sunday (0).
int sunday_based(cctz::weekday wd) {
  return (static_cast<int>(wd) + 1) % 7;
}

}  // namespace

CronExpr parse_cron(std::string_view text) {
  if (text.size() > kMaxText)
    throw CronError("longer than " + std::to_string(kMaxText) + " characters");
  std::vector<std::string_view> fields;
  std::size_t at = 0;
  while (at < text.size()) {
    while (at < text.size() && std::isspace(static_cast<unsigned char>(text[at]))) ++at;
    const std::size_t start = at;
    while (at < text.size() && !std::isspace(static_cast<unsigned char>(text[at]))) ++at;
    if (at > start) fields.push_back(text.substr(start, at - start));
  }
  if (fields.size() == 1 && fields[0].front() == '@') return parse_cron(macro(fields[0]));
  if (fields.size() != 5 && fields.size() != 6)
    throw CronError("'" + std::string(text) + "' has " + std::to_string(fields.size()) +
                    " fields: a cron expression has 5 (minute hour day-of-month month "
                    "day-of-week), or 6 with seconds first, or is one of @hourly, @daily, "
                    "@weekly, @monthly, @yearly");
  CronExpr e;
  std::size_t i = 0;
  if (fields.size() == 6) {
    e.has_seconds = true;
    parse_field(kSecond, fields[i++], e.seconds);
  } else {
    e.seconds.set(0);
  }
  parse_field(kMinute, fields[i++], e.minutes);
  parse_field(kHour, fields[i++], e.hours);
  e.days_star = fields[i].front() == '*';
  parse_field(kDay, fields[i++], e.days);
  parse_field(kMonth, fields[i++], e.months);
  e.weekdays_star = fields[i].front() == '*';
  parse_field(kWeekday, fields[i++], e.weekdays);
  return e;
}

bool cron_day_matches(const CronExpr& e, const cctz::civil_day& day) {
  const bool dom = e.days[static_cast<std::size_t>(day.day())];
  const bool dow = e.weekdays[static_cast<std::size_t>(sunday_based(cctz::get_weekday(day)))];
  if (e.days_star || e.weekdays_star) return dom && dow;
  return dom || dow;
}

bool cron_matches(const CronExpr& e, const cctz::civil_second& t) {
  return e.months[static_cast<std::size_t>(t.month())] && cron_day_matches(e, cctz::civil_day(t)) &&
         e.hours[static_cast<std::size_t>(t.hour())] &&
         e.minutes[static_cast<std::size_t>(t.minute())] &&
         e.seconds[static_cast<std::size_t>(t.second())];
}

std::optional<cctz::civil_second> next_cron_match(const CronExpr& e, cctz::civil_second t) {
  // Each step moves to the start of the next unit that could match, so a
  // match (or the end of the search) comes within a few thousand steps.
  const cctz::civil_year end = cctz::civil_year(t) + 10;
  while (cctz::civil_year(t) < end) {
    if (!e.months[static_cast<std::size_t>(t.month())]) {
      t = cctz::civil_second(cctz::civil_month(t) + 1);
    } else if (!cron_day_matches(e, cctz::civil_day(t))) {
      t = cctz::civil_second(cctz::civil_day(t) + 1);
    } else if (!e.hours[static_cast<std::size_t>(t.hour())]) {
      t = cctz::civil_second(cctz::civil_hour(t) + 1);
    } else if (!e.minutes[static_cast<std::size_t>(t.minute())]) {
      t = cctz::civil_second(cctz::civil_minute(t) + 1);
    } else if (!e.seconds[static_cast<std::size_t>(t.second())]) {
      t += 1;
    } else {
      return t;
    }
  }
  return std::nullopt;
}

}  // namespace jobq
