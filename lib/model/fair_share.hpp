// The order in which startable jobs of several applications are claimed,
// as a pure function over what the store read: each application's next
// jobs (its own order: priority, then FIFO) are taken one per application
// per round, so a flood in one application takes at most one slot a round
// from another's single job; rounds visit the application served least
// recently first (then the one whose next job is oldest). `served`, the
// order of service remembered across claims, is updated, so that under a
// tight global limit (one slot a claim) the slot does not always go to the
// flood.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "model/model.hpp"

namespace jobq {

struct ServiceOrder {
  std::map<std::string, std::uint64_t> last_served;  // by application; 0: never
  std::uint64_t clock = 0;
};

// `queues`: one non-empty queue per application, each in its own order.
// Returns at most `budget` jobs, in the order to claim them.
std::vector<Job> fair_share(std::vector<std::vector<Job>> queues, int budget, ServiceOrder& served);

}  // namespace jobq
