// A job's times: the numeric fields of its JSON (model.cpp: Unix ns, run and
// queue ms, never negative) and their human cells (job_cells: local time per
// TZ with its zone, durations, why a pending job waits).
#include <doctest/doctest.h>

#include <stdlib.h>
#include <time.h>

#include <optional>
#include <string>

#include "base/time_util.hpp"
#include "job_cells.hpp"
#include "model/model.hpp"

using nlohmann::json;
namespace render = jobq::render;

namespace {

// TZ set for one test (POSIX rules: no time zone database needed).
class ScopedTz {
 public:
  explicit ScopedTz(const char* tz) {
    if (const char* old = ::getenv("TZ")) old_ = old;
    ::setenv("TZ", tz, 1);
    ::tzset();
  }
  ~ScopedTz() {
    if (old_)
      ::setenv("TZ", old_->c_str(), 1);
    else
      ::unsetenv("TZ");
    ::tzset();
  }
  ScopedTz(const ScopedTz&) = delete;
  ScopedTz& operator=(const ScopedTz&) = delete;

 private:
  std::optional<std::string> old_;
};

constexpr std::int64_t kSec = 1'000'000'000;
// 2026-11-30T04:51:02Z
constexpr std::int64_t kT = std::int64_t{1'796'014'262} * kSec;

jobq::Job ended_job(std::string started, std::string finished) {
  jobq::Job j;
  j.id = 5;
  j.app = "web";
  j.state = jobq::JobState::succeeded;
  j.created_at = "2026-11-30T04:51:00.000000000Z";
  jobq::Attempt a;
  a.number = 1;
  a.started_at = std::move(started);
  a.finished_at = std::move(finished);
  j.attempts.push_back(a);
  return j;
}

}  // namespace

TEST_CASE("format_local_ns follows TZ and names the zone") {
  {
    ScopedTz tz("UTC0");
    CHECK(jobq::format_local_ns(kT) == "2026-11-30 04:51:02 UTC");
  }
  {
    ScopedTz tz("CET-1");
    CHECK(jobq::format_local_ns(kT) == "2026-11-30 05:51:02 CET");
    CHECK(jobq::format_local_ns(kT, true) == "05:51:02 CET");
    CHECK(jobq::format_local("2026-11-30T04:51:02.5Z") == "2026-11-30 05:51:02 CET");
  }
  {
    ScopedTz tz("EST5");
    CHECK(jobq::format_local("2026-11-30T04:51:02Z") == "2026-11-29 23:51:02 EST");
  }
  CHECK(jobq::format_local("0001-01-01T00:00:00Z") == "-");
  CHECK(jobq::format_local("") == "-");
}

TEST_CASE("a job's JSON keeps Docker's strings and adds numbers") {
  const json j = ended_job("2026-11-30T04:51:02.25Z", "2026-11-30T04:51:03.5Z");
  CHECK(j["started_at"] == "2026-11-30T04:51:02.25Z");
  CHECK(j["finished_at"] == "2026-11-30T04:51:03.5Z");
  CHECK(j["started_ns"] == kT + 250'000'000);
  CHECK(j["finished_ns"] == kT + 1'500'000'000);
  CHECK(j["created_ns"] == kT - 2 * kSec);
  CHECK(j["run_ms"] == 1250);
  CHECK(j["queue_ms"] == 2250);
  CHECK(j["attempts"][0]["run_ms"] == 1250);
  CHECK(j["attempts"][0]["started_ns"] == kT + 250'000'000);
}

TEST_CASE("a FinishedAt before StartedAt runs 0 ms, never less") {
  const json j = ended_job("2026-11-30T04:51:02.000600Z", "2026-11-30T04:51:02.0004Z");
  CHECK(j["run_ms"] == 0);
  CHECK(j["attempts"][0]["run_ms"] == 0);
  CHECK(render::run_time(j, kT) == "0ms");
}

TEST_CASE("times not known are null") {
  jobq::Job p;
  p.state = jobq::JobState::pending;
  p.created_at = "2026-11-30T04:51:00Z";
  const json j = p;
  CHECK(j["started_ns"].is_null());
  CHECK(j["run_ms"].is_null());
  CHECK(j["queue_ms"].is_null());
  CHECK(j["not_before_ns"].is_null());
  CHECK(render::queue_time(j, kT) == "2s so far");
  CHECK(render::run_time(j, kT) == "-");
  const json running = ended_job("2026-11-30T04:51:02Z", "");
  json r = running;
  r["state"] = "running";
  CHECK(r["run_ms"].is_null());
  CHECK(render::run_time(r, kT + 75 * kSec) == "1m15s so far");
}

TEST_CASE("duration_ms") {
  CHECK(render::duration_ms(-5) == "0ms");
  CHECK(render::duration_ms(250) == "250ms");
  CHECK(render::duration_ms(1000) == "1s");
  CHECK(render::duration_ms(1250) == "1.2s");
  CHECK(render::duration_ms(63'000) == "1m3s");
  CHECK(render::duration_ms(7'500'000) == "2h5m");
  CHECK(render::duration_ms(90'061'000) == "1d1h1m");
}

TEST_CASE("a pending job's state cell says why it waits") {
  ScopedTz tz("CET-1");
  json j{{"id", 7}, {"state", "pending"}, {"pending_reason", nullptr}};
  CHECK(render::state_cell(j) == "pending");
  j["pending_reason"] = {{"kind", "app_limit"}, {"app", "web"}, {"running", 2}, {"max", 2}};
  CHECK(render::state_cell(j) == "pending (app 2/2)");
  CHECK(render::pending_text(j, kT) == "for a slot: application web runs 2 of its 2");
  j["pending_reason"] = {{"kind", "daemon_limit"}, {"running", 8}, {"max", 8}};
  CHECK(render::state_cell(j) == "pending (jobqd 8/8)");
  j["pending_reason"] = {{"kind", "held"}};
  CHECK(render::state_cell(j) == "pending (held)");
  CHECK(render::pending_text(j, kT) == "held: it starts only after 'jobq release 7'");
  j["pending_reason"] = {{"kind", "dependencies"}, {"jobs", {3, 4}}};
  CHECK(render::state_cell(j) == "pending (after 3,4)");
  j["pending_reason"] = {{"kind", "not_before"}, {"at_ns", kT + 90 * kSec}};
  CHECK(render::state_cell(j) == "pending (until 05:52:32 CET)");
  CHECK(render::pending_text(j, kT) == "until 05:52:32 CET (in 1m30s)");
  j["pending_reason"] = {{"kind", "retry_backoff"}, {"at_ns", kT + 2 * kSec}, {"retry", 1}};
  CHECK(render::state_cell(j) == "pending (retry at 05:51:04 CET)");
  j["pending_reason"] = {{"kind", "queued"}};
  CHECK(render::state_cell(j) == "pending");
  j["pending_reason"] = {{"kind", "something_new"}, {"text", "the daemon's words"}};
  CHECK(render::pending_text(j, kT) == "the daemon's words");
  j["state"] = "running";
  CHECK(render::state_cell(j) == "running");
}
