#include "store/stats.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "base/time_util.hpp"

namespace jobq {

using nlohmann::json;

std::int64_t percentile(const std::vector<std::int64_t>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  rank = std::clamp<std::size_t>(rank, 1, sorted.size());
  return sorted[rank - 1];
}

namespace {
json spread(std::vector<std::int64_t> v) {
  if (v.empty()) return nullptr;
  std::sort(v.begin(), v.end());
  return json{{"p50", percentile(v, 50)}, {"p95", percentile(v, 95)}, {"max", v.back()}};
}

std::optional<std::int64_t> ms_between(const std::string& from, const std::string& to) {
  const auto a = parse_rfc3339_ns(from), b = parse_rfc3339_ns(to);
  if (!a || !b || *b < *a) return std::nullopt;
  return (*b - *a) / 1'000'000;
}
}  // namespace

json summarize_ended(const std::vector<EndedJob>& jobs) {
  struct Acc {
    std::int64_t ended = 0;
    std::map<std::string, std::int64_t> states;
    std::vector<std::int64_t> durations, waits;
  };
  std::map<std::string, Acc> by_app;
  for (const auto& j : jobs) {
    Acc& a = by_app[j.app];
    ++a.ended;
    ++a.states[std::string(to_string(j.state))];
    if (auto d = ms_between(j.started_at, j.finished_at)) a.durations.push_back(*d);
    if (auto w = ms_between(j.created_at, j.first_started_at)) a.waits.push_back(*w);
  }
  json apps = json::array();
  for (auto& [name, a] : by_app)
    apps.push_back(json{{"app", name},
                        {"ended", a.ended},
                        {"states", a.states},
                        {"duration_ms", spread(std::move(a.durations))},
                        {"queue_wait_ms", spread(std::move(a.waits))}});
  return json{{"apps", apps}};
}

}  // namespace jobq
