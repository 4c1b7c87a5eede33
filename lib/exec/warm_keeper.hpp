// WarmKeeper: how many warm runs each application gets, and the thread that
// has its runtime keep them (Runtime::tend_warm). An application asks for a
// pool (App::warm): a fixed size, or kWarmAuto, sized from its launches: the
// most it launched in any 10 s of the last 5 minutes, held within its
// max_running. A fixed size is the admin's and may exceed max_running (a
// pool that takes a whole burst). Its runtime must keep warm runs, and a
// paused application has none. The sum is held within
// jobqd's --max-warm: when the applications ask for more, each gets one in
// turn until it is reached.
//
// A round (every interval, and after each launch of an application with a
// pool, to replenish it) recycles and trims at once, but starts a new warm
// run of an application only while no launch of another is in flight
// (`launches_idle(app)`): a pool is never filled ahead of real launches of
// other applications (its own may go on beside it). Hits (launches that
// took a warm run) and misses (launches of an application with a pool that
// went cold) are counted per application for status, top and metrics.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/work_pool.hpp"
#include "runtime/runtimes.hpp"
#include "store/store.hpp"

namespace jobq {

struct WarmKeeperOptions {
  int max_warm = 64;                                // warm runs in all, at most
  std::chrono::milliseconds idle_ttl{10 * 60'000};  // an idle run older than this is recycled
  std::chrono::milliseconds interval{2000};
};

struct WarmPoolView {
  std::string app;
  bool automatic = false;  // sized from its launches
  int size = 0;            // what it is kept at now
  int idle = 0;            // idle warm runs, as last seen
  std::uint64_t hits = 0;
  std::uint64_t misses = 0;
};

// The run an application's warm pool is made of: its image, env and
// resources; no job's command or variables.
RunSpec warm_spec_for(const App& app);

class WarmKeeper {
 public:
  WarmKeeper(Store& store, const Runtimes& runtimes, WarmKeeperOptions opts,
             std::function<bool(const std::string& app)> launches_idle);
  ~WarmKeeper();
  void start();
  void stop();
  void kick() { kicker_.kick(); }

  // The runner's word: a job of `app` was launched, warm or not.
  void launched(const std::string& app, bool warm);
  // Every application with a pool (or hits and misses), by name.
  std::vector<WarmPoolView> pools();
  // The sizes each application gets now (public for tests).
  std::map<std::string, int> sizes(const std::vector<App>& apps);
  // One round (tests drive it step by step).
  void tend();

 private:
  struct Usage {
    std::deque<std::chrono::steady_clock::time_point> launches;  // the last 5 minutes'
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
    int size = 0;
    bool automatic = false;
  };
  int peak_launches(Usage& u, std::chrono::steady_clock::time_point now);

  Store& store_;
  const Runtimes runtimes_;
  WarmKeeperOptions opts_;
  std::function<bool(const std::string& app)> launches_idle_;
  Kicker kicker_;
  std::thread thread_;
  std::mutex mu_;
  std::map<std::string, Usage> usage_;
};

}  // namespace jobq
