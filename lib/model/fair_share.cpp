#include "model/fair_share.hpp"

#include <algorithm>

namespace jobq {

std::vector<Job> fair_share(std::vector<std::vector<Job>> queues, int budget,
                            ServiceOrder& served) {
  std::erase_if(queues, [](const auto& q) { return q.empty(); });
  auto last = [&](const std::vector<Job>& q) {
    auto it = served.last_served.find(q.front().app);
    return it == served.last_served.end() ? std::uint64_t{0} : it->second;
  };
  std::sort(queues.begin(), queues.end(), [&](const auto& a, const auto& b) {
    const auto sa = last(a), sb = last(b);
    return sa != sb ? sa < sb : a.front().id < b.front().id;
  });
  std::vector<Job> out;
  for (std::size_t round = 0; static_cast<int>(out.size()) < budget; ++round) {
    bool any = false;
    for (auto& q : queues) {
      if (round >= q.size()) continue;
      any = true;
      if (static_cast<int>(out.size()) >= budget) break;
      served.last_served[q[round].app] = ++served.clock;
      out.push_back(std::move(q[round]));
    }
    if (!any) break;
  }
  return out;
}

}  // namespace jobq
