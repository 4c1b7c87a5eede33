// The simulator's clock and Docker's time formats (see sim_time.hpp).
#include "sim_time.hpp"

#include <cctype>
#include <cstdio>
#include <ctime>

namespace sim {

std::int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

std::string rfc3339(std::int64_t ns, bool fixed) {
  if (ns == 0) return "0001-01-01T00:00:00Z";
  const auto secs = static_cast<std::time_t>(ns / 1'000'000'000);
  const long frac = static_cast<long>(ns % 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  std::string out(buf, static_cast<std::size_t>(n));
  if (fixed || frac != 0) {
    n = std::snprintf(buf, sizeof buf, ".%09ld", frac);
    std::string f(buf, static_cast<std::size_t>(n));
    if (!fixed)
      while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + "Z";
}

std::optional<std::int64_t> parse_unix_time(const std::string& s) {
  if (s.empty()) return std::nullopt;
  std::int64_t secs = 0, frac = 0;
  std::size_t i = 0;
  for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i)
    secs = secs * 10 + (s[i] - '0');
  if (i == 0 || secs > 9'000'000'000) return std::nullopt;
  if (i < s.size()) {
    if (s[i] != '.') return std::nullopt;
    int digits = 0;
    for (++i; i < s.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
      if (digits < 9) {
        frac = frac * 10 + (s[i] - '0');
        ++digits;
      }
    }
    for (; digits < 9; ++digits) frac *= 10;
  }
  return secs * 1'000'000'000 + frac;
}

}  // namespace sim
