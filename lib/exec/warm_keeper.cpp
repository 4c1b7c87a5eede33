#include "exec/warm_keeper.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace jobq {

namespace {
constexpr auto kWindow = std::chrono::minutes(5);  // launches remembered for auto sizing
constexpr auto kBurst = std::chrono::seconds(10);  // the span a burst is counted over
}  // namespace

RunSpec warm_spec_for(const App& app) {
  RunSpec spec;
  spec.image = app.image;
  for (const auto& [k, v] : app.env) spec.env.push_back(k + "=" + v);
  spec.resources = app.resources;
  spec.resources.job_users.clear();
  return spec;
}

WarmKeeper::WarmKeeper(Store& store, const Runtimes& runtimes, WarmKeeperOptions opts,
                       std::function<bool(const std::string&)> launches_idle)
    : store_(store), runtimes_(runtimes), opts_(opts), launches_idle_(std::move(launches_idle)) {}

WarmKeeper::~WarmKeeper() {
  stop();
}

void WarmKeeper::start() {
  thread_ = std::thread([this] {
    do {
      try {
        tend();
      } catch (const std::exception& e) {
        spdlog::warn("warm: {}", e.what());
      }
    } while (kicker_.wait_for(opts_.interval));
  });
}

void WarmKeeper::stop() {
  kicker_.stop();
  if (thread_.joinable()) thread_.join();
}

void WarmKeeper::launched(const std::string& app, bool warm) {
  {
    std::lock_guard lock(mu_);
    const auto it = usage_.find(app);
    if (it == usage_.end()) return;  // no pool asked for
    Usage& u = it->second;
    u.launches.push_back(std::chrono::steady_clock::now());
    if (warm)
      ++u.hits;
    else if (u.size > 0)
      ++u.misses;
  }
  kicker_.kick();  // replenish
}

int WarmKeeper::peak_launches(Usage& u, std::chrono::steady_clock::time_point now) {
  while (!u.launches.empty() && now - u.launches.front() > kWindow) u.launches.pop_front();
  int peak = 0;
  auto first = u.launches.begin();
  for (auto it = u.launches.begin(); it != u.launches.end(); ++it) {
    while (*it - *first > kBurst) ++first;
    peak = std::max(peak, static_cast<int>(it - first) + 1);
  }
  return peak;
}

std::map<std::string, int> WarmKeeper::sizes(const std::vector<App>& apps) {
  const auto now = std::chrono::steady_clock::now();
  std::map<std::string, int> want;
  {
    std::lock_guard lock(mu_);
    for (const auto& app : apps) {
      if (app.warm == 0 && !usage_.count(app.name)) continue;
      Usage& u = usage_[app.name];
      u.automatic = app.warm == kWarmAuto;
      const Runtime* rt = runtimes_.find(app.runtime);
      int n = app.warm == kWarmAuto ? peak_launches(u, now) : app.warm;
      if (!rt || !rt->capabilities().warm || app.paused) n = 0;
      // auto stays within the application's limit; a fixed N is the
      // admin's word (a pool larger than the limit takes a whole burst).
      if (u.automatic && app.max_running > 0) n = std::min(n, app.max_running);
      want[app.name] = std::max(0, std::min(n, kMaxWarm));
    }
  }
  // Within --max-warm: one each in turn, in name order, while any wants more.
  std::map<std::string, int> out;
  int left = std::max(0, opts_.max_warm);
  for (bool more = true; more && left > 0;) {
    more = false;
    for (const auto& [app, n] : want) {
      if (left == 0) break;
      if (out[app] < n) {
        ++out[app];
        --left;
        more = true;
      }
    }
  }
  for (const auto& [app, n] : want) out.try_emplace(app, 0);
  std::lock_guard lock(mu_);
  for (const auto& [app, n] : out) usage_[app].size = n;
  return out;
}

void WarmKeeper::tend() {
  const auto apps = store_.list_apps();
  const auto size = sizes(apps);
  // Every runtime: one that keeps none now still empties what is left.
  for (Runtime* rt : runtimes_.all()) {
    std::vector<WarmTarget> targets;
    for (const auto& app : apps) {
      const auto it = size.find(app.name);
      if (it == size.end() || it->second == 0 || app.runtime != rt->kind()) continue;
      targets.push_back(WarmTarget{app.name, warm_spec_for(app), it->second});
    }
    try {
      rt->tend_warm(targets, opts_.idle_ttl, [this](const std::string& app) {
        return !kicker_.stopped() && (!launches_idle_ || launches_idle_(app));
      });
    } catch (const EngineError& e) {
      spdlog::debug("warm: {} pools not tended: {}", rt->kind(), e.what());
    }
  }
}

std::vector<WarmPoolView> WarmKeeper::pools() {
  std::map<std::string, int> idle;
  for (Runtime* rt : runtimes_.all())
    for (const auto& [app, n] : rt->warm_idle()) idle[app] += n;
  std::lock_guard lock(mu_);
  std::vector<WarmPoolView> out;
  for (const auto& [app, u] : usage_) {
    if (u.size == 0 && u.hits == 0 && u.misses == 0 && !idle.count(app)) continue;
    out.push_back(
        WarmPoolView{app, u.automatic, u.size, idle.count(app) ? idle[app] : 0, u.hits, u.misses});
  }
  return out;
}

}  // namespace jobq
