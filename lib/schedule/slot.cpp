#include "schedule/slot.hpp"

#include <cctype>

namespace jobq {

namespace {
// Matching civil times that fall at or before `after` are passed over; a
// repeated hour of per-second slots is 3,600 of them.
constexpr int kMaxPassed = 100'000;
constexpr std::size_t kMaxZoneName = 128;

bool zone_name_ok(const std::string& name) {
  if (name.size() > kMaxZoneName || name.front() == '/' || name.find("..") != std::string::npos)
    return false;
  for (const char c : name)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '/' || c == '_' || c == '-' ||
          c == '+' || c == '.'))
      return false;
  return true;
}
}  // namespace

cctz::time_zone load_zone(const std::string& name) {
  if (name.empty() || name == "UTC") return cctz::utc_time_zone();
  cctz::time_zone zone;
  if (!zone_name_ok(name) || !cctz::load_time_zone(name, &zone))
    throw ZoneError("unknown time zone '" + name +
                    "' (a name of the zone database, as under /usr/share/zoneinfo: "
                    "Europe/Paris, America/New_York, UTC)");
  return zone;
}

SlotTime slot_instant(const cctz::time_zone& zone, const cctz::civil_second& civil) {
  const auto l = zone.lookup(civil);
  switch (l.kind) {
    case cctz::time_zone::civil_lookup::SKIPPED:
      return l.trans;  // the end of the gap
    case cctz::time_zone::civil_lookup::REPEATED:
      return l.pre;  // its first occurrence
    case cctz::time_zone::civil_lookup::UNIQUE:
      break;
  }
  return l.pre;
}

std::optional<SlotTime> next_slot(const CronExpr& e, const cctz::time_zone& zone, SlotTime after) {
  // Civil times map to instants in order (never backwards), so no match
  // before the civil time of `after` can fall after it.
  cctz::civil_second from = cctz::convert(after, zone);
  for (int i = 0; i < kMaxPassed; ++i) {
    const auto match = next_cron_match(e, from);
    if (!match) return std::nullopt;
    const SlotTime at = slot_instant(zone, *match);
    if (at > after) return at;
    from = *match + 1;
  }
  return std::nullopt;
}

std::vector<SlotTime> next_slots(const CronExpr& e, const cctz::time_zone& zone, SlotTime after,
                                 int n) {
  std::vector<SlotTime> out;
  for (int i = 0; i < n; ++i) {
    const auto at = next_slot(e, zone, after);
    if (!at) break;
    out.push_back(*at);
    after = *at;
  }
  return out;
}

}  // namespace jobq
