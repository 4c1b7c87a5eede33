#include "base/time_util.hpp"

#include <cctype>
#include <cstdio>
#include <ctime>

namespace jobq {

std::string format_rfc3339(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ns = duration_cast<nanoseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  const long frac = static_cast<long>(ns % 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

std::int64_t now_unix_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string format_unix_ns(std::int64_t ns) {
  return format_rfc3339(std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(ns))));
}

std::string format_unix_s(std::int64_t seconds) {
  return format_unix_ns(seconds * 1'000'000'000);
}

std::string now_rfc3339() {
  return format_rfc3339(std::chrono::system_clock::now());
}

std::string format_local_ns(std::int64_t ns, bool time_only) {
  tzset();  // localtime_r need not look at TZ again
  std::int64_t secs = ns / 1'000'000'000;
  if (ns < 0 && ns % 1'000'000'000 != 0) --secs;  // floor: a time before 1970 rounds down
  const auto t = static_cast<std::time_t>(secs);
  std::tm tm{};
  if (!localtime_r(&t, &tm)) return "-";
  char buf[64];
  if (std::strftime(buf, sizeof buf, time_only ? "%H:%M:%S %Z" : "%Y-%m-%d %H:%M:%S %Z", &tm) == 0)
    return "-";
  return buf;
}

std::string format_local(std::string_view rfc3339, bool time_only) {
  const auto ns = parse_rfc3339_ns(rfc3339);
  return ns ? format_local_ns(*ns, time_only) : "-";
}

namespace {
bool read_int(std::string_view s, std::size_t pos, std::size_t len, int& out) {
  if (pos + len > s.size()) return false;
  out = 0;
  for (std::size_t i = pos; i < pos + len; ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}
}  // namespace

std::optional<std::int64_t> parse_rfc3339_ns(std::string_view s) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  int y, mo, d, h, mi, se;
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':')
    return std::nullopt;
  if (!read_int(s, 0, 4, y) || !read_int(s, 5, 2, mo) || !read_int(s, 8, 2, d) ||
      !read_int(s, 11, 2, h) || !read_int(s, 14, 2, mi) || !read_int(s, 17, 2, se))
    return std::nullopt;
  if (y <= 1) return std::nullopt;  // Docker's "never" time
  // Nanoseconds since 1970 in an int64 reach from 1677 to 2262.
  if (y < 1678 || y > 2261) return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 60) return std::nullopt;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (d > kDays[mo - 1] + (mo == 2 && leap ? 1 : 0)) return std::nullopt;
  std::size_t pos = 19;
  std::int64_t frac = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) {
      if (digits < 9) {
        frac = frac * 10 + (s[pos] - '0');
        ++digits;
      }
      ++pos;
    }
    if (digits == 0) return std::nullopt;
    for (; digits < 9; ++digits) frac *= 10;
  }
  std::int64_t offset = 0;
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
  } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
    int oh, om;
    if (pos + 6 > s.size() || s[pos + 3] != ':' || !read_int(s, pos + 1, 2, oh) ||
        !read_int(s, pos + 4, 2, om))
      return std::nullopt;
    offset = (oh * 3600 + om * 60) * (s[pos] == '+' ? 1 : -1);
    pos += 6;
  } else {
    return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  // days_from_civil (proleptic Gregorian).
  const int yy = y - (mo <= 2 ? 1 : 0);
  const int era = (yy >= 0 ? yy : yy - 399) / 400;
  const int yoe = yy - era * 400;
  const int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  const std::int64_t days = static_cast<std::int64_t>(era) * 146097 + doe - 719468;
  const std::int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - offset;
  return secs * 1'000'000'000 + frac;
}

std::optional<std::chrono::milliseconds> parse_duration(std::string_view s) {
  if (s.empty()) return std::nullopt;
  double total_ms = 0;
  std::size_t pos = 0;
  bool any = false;
  while (pos < s.size()) {
    std::size_t start = pos;
    int dots = 0;
    while (pos < s.size() && (std::isdigit(static_cast<unsigned char>(s[pos])) || s[pos] == '.')) {
      dots += s[pos] == '.';
      ++pos;
    }
    if (start == pos || dots > 1 || s.substr(start, pos - start) == ".") return std::nullopt;
    double value = 0;
    try {
      value = std::stod(std::string(s.substr(start, pos - start)));
    } catch (...) {
      return std::nullopt;
    }
    std::size_t ustart = pos;
    while (pos < s.size() && std::isalpha(static_cast<unsigned char>(s[pos]))) ++pos;
    const std::string_view unit = s.substr(ustart, pos - ustart);
    double scale;
    if (unit.empty()) {
      if (any || pos != s.size()) return std::nullopt;  // bare number only on its own
      scale = 1000;
    } else if (unit == "ms") {
      scale = 1;
    } else if (unit == "s") {
      scale = 1000;
    } else if (unit == "m") {
      scale = 60'000;
    } else if (unit == "h") {
      scale = 3'600'000;
    } else if (unit == "d") {
      scale = 86'400'000;
    } else {
      return std::nullopt;
    }
    total_ms += value * scale;
    any = true;
  }
  if (total_ms > 1e15) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(total_ms));
}

std::optional<std::int64_t> parse_when(std::string_view s,
                                       std::chrono::system_clock::time_point now) {
  if (auto ns = parse_rfc3339_ns(s)) return ns;
  const std::string text(s);
  const std::time_t now_t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  localtime_r(&now_t, &tm);
  std::tm parsed = tm;
  const char* end = nullptr;
  bool time_only = false;
  for (const char* fmt : {"%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"}) {
    parsed = tm;
    parsed.tm_sec = 0;
    end = strptime(text.c_str(), fmt, &parsed);
    if (end && *end == '\0') break;
    end = nullptr;
  }
  if (!end) {
    for (const char* fmt : {"%H:%M:%S", "%H:%M"}) {
      parsed = tm;
      parsed.tm_sec = 0;
      end = strptime(text.c_str(), fmt, &parsed);
      if (end && *end == '\0') {
        time_only = true;
        break;
      }
      end = nullptr;
    }
  }
  if (!end) return std::nullopt;
  parsed.tm_isdst = -1;
  std::time_t t = mktime(&parsed);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  if (time_only && t <= now_t) {
    parsed.tm_mday += 1;  // that time has passed today: tomorrow
    parsed.tm_isdst = -1;
    t = mktime(&parsed);
  }
  return static_cast<std::int64_t>(t) * 1'000'000'000;
}

}  // namespace jobq
