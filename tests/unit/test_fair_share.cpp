// fair_share: the claim order over applications, as a pure function.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "model/fair_share.hpp"

using jobq::Job;

namespace {

// A queue of n jobs of app, ids from first_id up.
std::vector<Job> queue(const std::string& app, std::int64_t first_id, int n) {
  std::vector<Job> q;
  for (int i = 0; i < n; ++i) {
    Job j;
    j.id = first_id + i;
    j.app = app;
    q.push_back(j);
  }
  return q;
}

std::vector<std::int64_t> ids(const std::vector<Job>& jobs) {
  std::vector<std::int64_t> out;
  for (const auto& j : jobs) out.push_back(j.id);
  return out;
}

}  // namespace

TEST_CASE("one job per application per round, oldest first among the never served") {
  jobq::ServiceOrder served;
  const auto got = jobq::fair_share({queue("flood", 1, 5), queue("single", 100, 1)}, 10, served);
  CHECK(ids(got) == std::vector<std::int64_t>{1, 100, 2, 3, 4, 5});
}

TEST_CASE("the budget caps the claim, and the queues' own order is kept") {
  jobq::ServiceOrder served;
  auto a = queue("a", 10, 3);
  std::swap(a[0], a[2]);  // its own order: priority first, not ids
  const auto got = jobq::fair_share({a, queue("b", 5, 3)}, 3, served);
  CHECK(ids(got) == std::vector<std::int64_t>{5, 12, 6});
  CHECK(jobq::fair_share({queue("a", 1, 3)}, 0, served).empty());
  CHECK(jobq::fair_share({}, 5, served).empty());
}

TEST_CASE("under a limit of one a claim, the slot goes round the applications") {
  jobq::ServiceOrder served;
  std::vector<std::string> apps;
  auto flood = queue("flood", 1, 20);
  auto b = queue("b", 50, 2);
  auto c = queue("c", 60, 2);
  for (int claim = 0; claim < 6; ++claim) {
    const auto got = jobq::fair_share({flood, b, c}, 1, served);
    REQUIRE(got.size() == 1);
    apps.push_back(got[0].app);
    for (auto* q : {&flood, &b, &c})  // what was claimed leaves its queue
      if (!q->empty() && q->front().id == got[0].id) q->erase(q->begin());
  }
  CHECK(apps == std::vector<std::string>{"flood", "b", "c", "flood", "b", "c"});
}

TEST_CASE("an application served recently waits behind one that was not") {
  jobq::ServiceOrder served;
  served.last_served["a"] = 5;
  served.clock = 5;
  const auto got = jobq::fair_share({queue("a", 1, 2), queue("b", 9, 2)}, 4, served);
  CHECK(ids(got) == std::vector<std::int64_t>{9, 1, 10, 2});
  CHECK(served.last_served["b"] == 8);
  CHECK(served.last_served["a"] == 9);
  CHECK(served.clock == 9);
}
