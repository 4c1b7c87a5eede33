// Schedules: which due slots fire (schedule/plan), the store's one
// transaction per round (each slot decided once; overlap, after-previous,
// after-schedule), and the scheduler on an injected clock (the clock going
// back, a restart after downtime).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <mutex>

#include "base/time_util.hpp"
#include "exec/scheduler.hpp"
#include "schedule/plan.hpp"
#include "store/store.hpp"
#include "test_support.hpp"

using jobq::CatchUp;
using jobq::FireOutcome;
using jobq::JobState;
using jobq::Schedule;
using jobq::ScheduleAdvance;
using jobq::SlotDecision;
using jobq::SlotPolicy;
using jobq::SlotTime;
using jobq::Store;

namespace {

SlotTime utc(int y, int mo, int d, int h, int mi, int s = 0) {
  return cctz::convert(cctz::civil_second(y, mo, d, h, mi, s), cctz::utc_time_zone());
}

std::int64_t secs(SlotTime t) {
  return t.time_since_epoch().count();
}

struct Counts {
  int fired = 0;
  std::int64_t missed = 0;
  std::vector<SlotTime> fires;
};

Counts counts(const jobq::SlotPlan& p) {
  Counts c;
  for (const auto& s : p.slots) {
    if (s.fire) {
      ++c.fired;
      c.fires.push_back(s.slot);
    } else {
      c.missed += s.count;
    }
  }
  return c;
}

const jobq::CronExpr kEveryMinute = jobq::parse_cron("* * * * *");
const jobq::CronExpr kEverySecond = jobq::parse_cron("* * * * * *");
const cctz::time_zone kUtc = cctz::utc_time_zone();

// A schedule of `owner` on app "app", waiting for slot `next`.
Schedule schedule(const std::string& name, std::int64_t next, std::int64_t owner = 1000) {
  Schedule s;
  s.name = name;
  s.owner_uid = owner;
  s.owner_name = "u" + std::to_string(owner);
  s.app = "app";
  s.cron = "* * * * * *";
  s.next_slot = next;
  return s;
}

jobq::NewJob job_template() {
  jobq::NewJob nj;
  nj.app = "app";
  nj.command = std::vector<std::string>{"echo", "hi"};
  nj.env = {{"K", "v"}};
  nj.priority = 3;
  return nj;
}

ScheduleAdvance fire(std::int64_t id, std::int64_t slot) {
  ScheduleAdvance a;
  a.schedule_id = id;
  a.expected_next = slot;
  SlotDecision d;
  d.slot = slot;
  d.fire = true;
  a.slots.push_back(d);
  a.next = slot + 1;
  return a;
}

// Ends job `id` as `state` (through a claim, as the runner and poller would);
// other jobs claimed meanwhile go back to pending.
void end_job(Store& store, std::int64_t id, JobState state) {
  bool found = false;
  for (const auto& t : store.claim_pending(0, 1000, jobq::test::naming(store))) {
    if (t.job_id != id) {
      REQUIRE(store.unclaim(t.job_id, t.attempt));
      continue;
    }
    found = true;
    jobq::AttemptResult r;
    r.job_id = id;
    r.attempt = t.attempt;
    r.state = state;
    r.exit_code = state == JobState::succeeded ? 0 : 1;
    REQUIRE(store.finish_attempt(r));
  }
  REQUIRE(found);
}

// Starts job `id` (its attempt running).
void start_job(Store& store, std::int64_t id) {
  for (const auto& t : store.claim_pending(0, 1000, jobq::test::naming(store))) {
    if (t.job_id != id) {
      REQUIRE(store.unclaim(t.job_id, t.attempt));
      continue;
    }
    REQUIRE(store.mark_running(id, t.attempt, jobq::test::run_with_id("c" + std::to_string(id))));
  }
}

}  // namespace

TEST_CASE("plan: slots that came due while running fire; those missed while away follow catch-up") {
  const SlotTime ten = utc(2026, 12, 1, 10, 0);
  SUBCASE("one slot due, on time") {
    const auto p = jobq::plan_slots(kEveryMinute, kUtc, ten, ten + std::chrono::seconds(30),
                                    ten - std::chrono::hours(1), {});
    CHECK(counts(p).fires == std::vector<SlotTime>{ten});
    CHECK(counts(p).missed == 0);
    REQUIRE(p.next);
    CHECK(*p.next == ten + std::chrono::minutes(1));
  }
  // jobqd started at 10:04:30: 10:00 to 10:04 passed while it was down, 10:05 came due after.
  const SlotTime now = ten + std::chrono::seconds(5 * 60 + 10);
  const SlotTime started = ten + std::chrono::seconds(4 * 60 + 30);
  SUBCASE("last: the newest missed one fires, and the one on time") {
    const auto p = jobq::plan_slots(kEveryMinute, kUtc, ten, now, started, {});
    const auto c = counts(p);
    CHECK(c.fires ==
          std::vector<SlotTime>{ten + std::chrono::minutes(4), ten + std::chrono::minutes(5)});
    CHECK(c.missed == 4);
    REQUIRE(p.slots.size() == 3);  // one record for the four missed ones
    CHECK(p.slots[0].slot == ten);
    CHECK(p.slots[0].last == ten + std::chrono::minutes(3));
    CHECK(p.slots[0].reason.find("--catch-up last") != std::string::npos);
  }
  SUBCASE("none: only the one on time") {
    SlotPolicy pol;
    pol.catch_up = CatchUp::none;
    const auto c = counts(jobq::plan_slots(kEveryMinute, kUtc, ten, now, started, pol));
    CHECK(c.fires == std::vector<SlotTime>{ten + std::chrono::minutes(5)});
    CHECK(c.missed == 5);
  }
  SUBCASE("all, at most 2") {
    SlotPolicy pol;
    pol.catch_up = CatchUp::all;
    pol.catch_up_max = 2;
    const auto c = counts(jobq::plan_slots(kEveryMinute, kUtc, ten, now, started, pol));
    CHECK(c.fired == 3);
    CHECK(c.fires.front() == ten + std::chrono::minutes(3));
    CHECK(c.missed == 3);
  }
  SUBCASE("a starting deadline: slots later than it are missed, whatever the policy") {
    SlotPolicy pol;
    pol.catch_up = CatchUp::all;
    pol.deadline = std::chrono::seconds(90);
    const auto p = jobq::plan_slots(kEveryMinute, kUtc, ten, now, ten - std::chrono::hours(1), pol);
    const auto c = counts(p);
    CHECK(c.fires ==
          std::vector<SlotTime>{ten + std::chrono::minutes(4), ten + std::chrono::minutes(5)});
    CHECK(c.missed == 4);
    CHECK(p.slots[0].reason.find("deadline") != std::string::npos);
  }
}

TEST_CASE("plan: a clock leaping forward fires at most a burst; a long gap is walked in bounds") {
  const SlotTime t = utc(2026, 12, 1, 10, 0);
  SUBCASE("150 seconds of per-second slots came due at once") {
    const auto c =
        counts(jobq::plan_slots(kEverySecond, kUtc, t, t + std::chrono::seconds(150), t, {}));
    CHECK(c.fired == jobq::kMaxBurst);
    CHECK(c.missed == 151 - jobq::kMaxBurst);
    CHECK(c.fires.back() == t + std::chrono::seconds(150));  // the newest fire
  }
  SUBCASE("three days down, per second: the newest missed fires (last), and the one now") {
    const SlotTime now = t + std::chrono::hours(72);
    const auto p = jobq::plan_slots(kEverySecond, kUtc, t, now, now, {});
    const auto c = counts(p);
    CHECK(c.fires == std::vector<SlotTime>{now - std::chrono::seconds(1), now});
    // The walk leapt (bounded work): the slots it counted, then those it
    // walked before the newest, both missed.
    REQUIRE(p.slots.size() == 4);
    CHECK(p.slots[0].slot == t);
    CHECK_FALSE(p.slots[0].count_exact);
    CHECK(p.slots[0].reason.find("at least") != std::string::npos);
    CHECK(p.slots[1].last == now - std::chrono::seconds(2));
    CHECK(c.missed >= 100'000);
    REQUIRE(p.next);
    CHECK(*p.next == now + std::chrono::seconds(1));
  }
}

TEST_CASE("store: a slot's job is enqueued once, with the schedule moved past it") {
  jobq::test::TempDir dir;
  Store store(dir.file("db"));
  jobq::test::make_app(store, "app");
  const Schedule s = store.create_schedule(schedule("nightly", 100), job_template(), 0);
  CHECK(s.next_slot == 100);

  const FireOutcome first = store.fire_slots({fire(s.id, 100)});
  REQUIRE(first.enqueued.size() == 1);
  CHECK(first.fired == 1);
  const auto job = store.get_job(first.enqueued[0]).value();
  CHECK(job.schedule == "nightly");
  CHECK(job.slot == 100);
  CHECK(job.submitter_uid == 1000);  // the owner's
  CHECK(job.command == std::vector<std::string>{"echo", "hi"});
  CHECK(job.env.at("K") == "v");
  CHECK(job.priority == 3);
  CHECK(store.get_schedule_by_id(s.id)->next_slot == 101);

  // The same advance again (a round that thought it was still due): nothing.
  const FireOutcome again = store.fire_slots({fire(s.id, 100)});
  CHECK(again.enqueued.empty());
  CHECK(again.stale == 1);
  CHECK(store.list_jobs({}).size() == 1);

  // A paused schedule decides nothing.
  store.set_schedule_paused(s.id, true, 101);
  CHECK(store.fire_slots({fire(s.id, 101)}).stale == 1);
  const Schedule resumed = store.set_schedule_paused(s.id, false, 150);
  CHECK(resumed.away_before == 150);

  // Names are per owner; the owner's count is bounded.
  CHECK_THROWS_AS(store.create_schedule(schedule("nightly", 5), job_template(), 0),
                  jobq::StoreError);
  CHECK(store.create_schedule(schedule("nightly", 5, 1001), job_template(), 0).owner_uid == 1001);
  CHECK_THROWS_AS(store.create_schedule(schedule("second", 5, 1001), job_template(), 1),
                  jobq::StoreError);

  // run: an extra slot, now; once per second.
  const auto manual = store.run_schedule_now(s.id, 4242);
  CHECK(manual.slot == 4242);
  CHECK_THROWS_AS(store.run_schedule_now(s.id, 4242), jobq::StoreError);
  const auto slots = store.schedule_slots(s.id, 10);
  REQUIRE(slots.size() == 2);
  CHECK(slots[0].manual);
  CHECK(slots[1].job_id == first.enqueued[0]);
  end_job(store, first.enqueued[0], JobState::succeeded);
  CHECK(store.get_schedule_by_id(s.id)->last_success_job == first.enqueued[0]);
}

TEST_CASE("store: missed slots are one record; a gone application skips the slot with why") {
  jobq::test::TempDir dir;
  Store store(dir.file("db"));
  jobq::App app;
  app.name = "app";
  app.image = "img";
  app.webhooks.urls = {"http://127.0.0.1:9/hook"};
  app.webhooks.on = {"slot-missed", "slot-skipped"};
  store.create_app(app);
  const Schedule s = store.create_schedule(schedule("s", 10), job_template(), 0);
  ScheduleAdvance a;
  a.schedule_id = s.id;
  a.expected_next = 10;
  a.slots.push_back({10, false, "down", 14, 5});
  a.slots.push_back({15, true, "", 15, 1});
  a.next = 16;
  const auto out = store.fire_slots({a});
  CHECK(out.missed == 5);
  CHECK(out.fired == 1);
  const auto after = store.get_schedule_by_id(s.id).value();
  CHECK(after.missed == 5);
  CHECK(after.last_slot == 15);
  // The application's webhooks that ask for it hear of the missed run, once.
  const auto calls = store.due_deliveries(jobq::now_unix_ns() + 1'000'000'000, 10);
  REQUIRE(calls.size() == 1);
  CHECK(calls[0].event == "slot-missed");
  CHECK(calls[0].job_id == 0);
  const auto body = nlohmann::json::parse(calls[0].body);
  CHECK(body["schedule"]["name"] == "s");
  CHECK(body["count"] == 5);
  CHECK(body["reason"] == "down");
  store.delivery_succeeded(calls[0].id);

  // The application lowered its limits below what the job asks: skipped, saying why.
  jobq::Schedule big_def = schedule("big", 10);
  jobq::NewJob big = job_template();
  big.timeout_ms = 60'000;
  const Schedule bs = store.create_schedule(big_def, big, 0);
  jobq::AppUpdate lower;
  lower.timeout_ms = 1'000;
  store.update_app("app", lower);
  CHECK(store.fire_slots({fire(bs.id, 10)}).skipped == 1);
  CHECK(store.schedule_slots(bs.id, 1).at(0).reason.find("exceeds its application's now") !=
        std::string::npos);
  const auto skipped_calls = store.due_deliveries(jobq::now_unix_ns() + 1'000'000'000, 10);
  REQUIRE(skipped_calls.size() == 1);
  CHECK(skipped_calls[0].event == "slot-skipped");
  store.delivery_succeeded(skipped_calls[0].id);

  store.delete_app("app", true);
  const auto gone = store.fire_slots({fire(s.id, 16)});
  CHECK(gone.skipped == 1);
  const auto slots = store.schedule_slots(s.id, 1);
  REQUIRE(slots.size() == 1);
  CHECK(slots[0].outcome == jobq::SlotOutcome::skipped);
  CHECK(slots[0].reason.find("no application named 'app'") != std::string::npos);
  // (Its application gone, no webhook can be found for it.)
  CHECK(store.due_deliveries(jobq::now_unix_ns() + 1'000'000'000, 10).empty());
}

TEST_CASE("store: overlap forbid skips the slot, replace cancels the previous job") {
  jobq::test::TempDir dir;
  Store store(dir.file("db"));
  jobq::test::make_app(store, "app");
  Schedule def = schedule("s", 1);
  SUBCASE("forbid") {
    def.overlap = jobq::Overlap::forbid;
    const Schedule s = store.create_schedule(def, job_template(), 0);
    const auto first = store.fire_slots({fire(s.id, 1)}).enqueued.at(0);
    start_job(store, first);
    const auto second = store.fire_slots({fire(s.id, 2)});
    CHECK(second.enqueued.empty());
    CHECK(second.skipped == 1);
    CHECK(store.schedule_slots(s.id, 1).at(0).reason.find("--overlap forbid") != std::string::npos);
  }
  SUBCASE("replace") {
    def.overlap = jobq::Overlap::replace;
    const Schedule s = store.create_schedule(def, job_template(), 0);
    const auto first = store.fire_slots({fire(s.id, 1)}).enqueued.at(0);
    start_job(store, first);
    const auto second = store.fire_slots({fire(s.id, 2)});
    REQUIRE(second.enqueued.size() == 1);
    CHECK(second.cancel_requested == std::vector<std::int64_t>{first});
    CHECK(store.get_job(first)->cancel_requested);
    const auto next = store.get_job(second.enqueued[0]).value();
    CHECK(next.after_any == std::vector<std::int64_t>{first});  // starts once that one stopped
    CHECK(next.waiting_on == 1);
  }
  SUBCASE("allow") {
    const Schedule s = store.create_schedule(def, job_template(), 0);
    const auto first = store.fire_slots({fire(s.id, 1)}).enqueued.at(0);
    start_job(store, first);
    const auto second = store.fire_slots({fire(s.id, 2)});
    CHECK(second.enqueued.size() == 1);
    CHECK_FALSE(store.get_job(first)->cancel_requested);
  }
}

TEST_CASE("store: --after-previous and --after-schedule are dependencies on the slots' jobs") {
  jobq::test::TempDir dir;
  Store store(dir.file("db"));
  jobq::test::make_app(store, "app");
  SUBCASE("after the previous slot: waits for it, and is skipped naming it when it failed") {
    Schedule def = schedule("chain", 1);
    def.after_previous = true;
    const Schedule s = store.create_schedule(def, job_template(), 0);
    const auto j1 = store.fire_slots({fire(s.id, 1)}).enqueued.at(0);
    const auto j2 = store.fire_slots({fire(s.id, 2)}).enqueued.at(0);
    CHECK(store.get_job(j2)->after == std::vector<std::int64_t>{j1});
    end_job(store, j1, JobState::failed);
    // The last to fail: j2, skipped in j1's wake.
    CHECK(store.get_schedule_by_id(s.id)->last_failure_job == j2);
    CHECK_FALSE(store.get_schedule_by_id(s.id)->last_success_job);
    const auto skipped = store.get_job(j2).value();
    CHECK(skipped.state == JobState::skipped);
    CHECK(skipped.reason.find(std::to_string(j1)) != std::string::npos);
    const auto j3 = store.fire_slots({fire(s.id, 3)});
    CHECK(j3.ended == j3.enqueued);  // its previous (j2) was skipped: skipped at once
  }
  SUBCASE("after another schedule: the job of its latest slot at or before this one") {
    const Schedule import = store.create_schedule(schedule("import", 100), job_template(), 0);
    Schedule def = schedule("report", 100);
    def.after_schedule = "import";
    // Naming a schedule the owner does not have is refused.
    Schedule bad = schedule("x", 1, 1001);
    bad.after_schedule = "import";
    CHECK_THROWS_AS(store.create_schedule(bad, job_template(), 0), jobq::StoreError);
    const Schedule report = store.create_schedule(def, job_template(), 0);
    // import has no slot yet: the report's slot is skipped, saying so.
    CHECK(store.fire_slots({fire(report.id, 100)}).skipped == 1);
    const auto imp = store.fire_slots({fire(import.id, 100)}).enqueued.at(0);
    const auto rep = store.fire_slots({fire(report.id, 101)}).enqueued.at(0);
    CHECK(store.get_job(rep)->after == std::vector<std::int64_t>{imp});
    // A cycle is refused; a schedule others wait on cannot be deleted.
    Schedule loop = store.get_schedule_by_id(import.id).value();
    loop.after_schedule = "report";
    CHECK_THROWS_AS(store.update_schedule(loop, std::nullopt), jobq::StoreError);
    CHECK_THROWS_AS(store.delete_schedule(import.id), jobq::StoreError);
    store.delete_schedule(report.id);
    store.delete_schedule(import.id);
    CHECK(store.list_schedules(std::nullopt).empty());
    CHECK(store.get_job(rep).has_value());  // its jobs stay
  }
}

TEST_CASE("scheduler: each due slot once on an injected clock; the clock going back repeats none") {
  jobq::test::TempDir dir;
  Store store(dir.file("db"));
  jobq::test::make_app(store, "app");
  std::mutex mu;
  auto now = std::chrono::system_clock::time_point(utc(2026, 12, 1, 10, 0));
  jobq::SchedulerOptions opts;
  opts.clock = [&] {
    std::lock_guard lock(mu);
    return now;
  };
  Schedule def = schedule("tick", secs(utc(2026, 12, 1, 10, 0, 1)));
  def.away_before = secs(utc(2026, 12, 1, 10, 0));
  store.create_schedule(def, job_template(), 0);
  jobq::Scheduler sched(store, opts);
  sched.set_started(utc(2026, 12, 1, 10, 0));
  std::optional<SlotTime> wake;
  CHECK(sched.tick(&wake).fired == 0);  // not due yet
  REQUIRE(wake);
  CHECK(*wake == utc(2026, 12, 1, 10, 0, 1));
  now += std::chrono::milliseconds(3500);  // 10:00:03.5: slots :01, :02, :03
  CHECK(sched.tick(&wake).fired == 3);
  CHECK(*wake == utc(2026, 12, 1, 10, 0, 4));
  now -= std::chrono::seconds(2);  // the wall clock set back
  CHECK(sched.tick().fired == 0);
  now += std::chrono::seconds(2);
  CHECK(sched.tick().fired == 0);  // :03 again: already decided
  now += std::chrono::seconds(1);
  CHECK(sched.tick().fired == 1);  // :04
  CHECK(store.list_jobs({}).size() == 4);

  // jobqd down from 10:00:04.5 to 10:01:00.2: a new scheduler (started then)
  // fires the newest missed slot (catch-up last) and records the rest missed.
  now = std::chrono::system_clock::time_point(utc(2026, 12, 1, 10, 1, 0)) +
        std::chrono::milliseconds(200);
  jobq::Scheduler after(store, opts);
  after.set_started(utc(2026, 12, 1, 10, 1, 0));
  const auto out = after.tick();
  CHECK(out.fired == 2);    // 10:00:59 (the newest missed) and 10:01:00 (on time)
  CHECK(out.missed == 54);  // 10:00:05 to 10:00:58
  const auto s = store.get_schedule(1000, "tick").value();
  CHECK(s.fired == 6);
  CHECK(s.missed == 54);
  CHECK(s.next_slot == secs(utc(2026, 12, 1, 10, 1, 1)));
}
