#include "exec/poller.hpp"

#include <spdlog/spdlog.h>

#include "base/time_util.hpp"

#include "base/fault.hpp"
#include "base/log_tail.hpp"

namespace jobq {

AttemptResult result_from(const ActiveAttempt& a, const RunStatus& st) {
  AttemptResult r;
  r.job_id = a.job_id;
  r.attempt = a.attempt;
  record_run_status(r, st);
  // A cancel counts only if the run ended after it was asked for: one
  // that had already exited on its own keeps its own result.
  const auto finished = parse_rfc3339_ns(st.finished_at);
  const bool cancelled = a.cancel_requested && !(finished && a.cancel_requested_ns > 0 &&
                                                 *finished < a.cancel_requested_ns);
  const std::int64_t deadline =
      a.started_ns > 0 && a.timeout_ms > 0 ? a.started_ns + a.timeout_ms * 1'000'000 : 0;
  const bool timed_out = a.timed_out && !(finished && deadline > 0 && *finished < deadline);
  if (timed_out) {
    r.state = JobState::timed_out;
    r.reason = "ran past its timeout of " + std::to_string(a.timeout_ms) + " ms; stopped";
  } else if (cancelled) {
    r.state = JobState::cancelled;
    r.reason = "cancel requested while running";
  } else if (st.phase == RunPhase::launch_failed) {
    // It never started: the engine's verdict (no image, no such command...).
    r.state = JobState::failed;
    r.launch_error = true;
    r.reason = "could not start: " + st.message;
  } else if (r.oom_killed.value_or(false)) {
    r.state = JobState::failed;
    r.reason = "oom";
  } else if (!st.message.empty()) {
    r.state = JobState::failed;
    r.reason = "error: " + st.message;
  } else if (st.exit_code == 0) {
    r.state = JobState::succeeded;
  } else {
    r.state = JobState::failed;
    r.reason = "exit code " + std::to_string(st.exit_code);
  }
  if (!st.stop_note.empty()) r.reason += " (" + st.stop_note + ")";
  return r;
}

Poller::Poller(Store& store, Runtime& runtime, PollerOptions opts, JobEvent on_final)
    : store_(store),
      runtime_(runtime),
      opts_(opts),
      on_final_(std::move(on_final)),
      stoppers_(std::max(1, opts.stop_workers)),
      removers_(std::max(1, opts.remove_workers)),
      started_ns_(now_unix_ns()) {}

Poller::~Poller() {
  stop();
}

void Poller::kick() {
  {
    std::lock_guard lock(mu_);
    all_ = true;
  }
  kicker_.kick();
}

void Poller::check(std::int64_t job_id) {
  spdlog::trace("job {}: asked to look at it", job_id);
  {
    std::lock_guard lock(mu_);
    targets_.insert(job_id);
  }
  kicker_.kick();
}

void Poller::start() {
  thread_ = std::thread([this] {
    using clock = std::chrono::steady_clock;
    auto next_round = clock::now();  // the first round looks at every one
    do {
      try {
        const auto now = clock::now();
        if (now >= next_reconcile_) {
          next_reconcile_ = now + opts_.reconcile_interval;
          reconcile();
        }
        bool all;
        std::set<std::int64_t> targets;
        {
          std::lock_guard lock(mu_);
          all = std::exchange(all_, false) || clock::now() >= next_round;
          targets.swap(targets_);
        }
        if (all) {
          next_round = clock::now() + opts_.interval;
          tick();
        }
        // Also after a full round: that one looks at running jobs only,
        // and a named job may still be starting.
        if (!targets.empty()) tick(targets);
      } catch (const std::exception& e) {
        spdlog::error("poller: {}", e.what());
      }
    } while (kicker_.wait_for(std::max(next_round - clock::now(), clock::duration::zero())));
  });
}

void Poller::stop() {
  kicker_.stop();
  if (thread_.joinable()) thread_.join();
  stoppers_.stop();
  removers_.stop();
}

std::optional<std::set<std::string>> Poller::ended_runs(std::size_t running) {
  // Few running: ask each one's status (the simplest truth). Many: one list
  // call names the ended ones, and every run is asked only at each sweep
  // (which also finds runs removed outside jobq).
  const auto now = std::chrono::steady_clock::now();
  if (running <= opts_.inspect_all_below || now >= next_sweep_) {
    next_sweep_ = now + opts_.sweep_interval;
    return std::nullopt;
  }
  try {
    std::set<std::string> names;
    for (const auto& r : runtime_.runs(true)) names.insert(r.name);
    return names;
  } catch (const EngineError& e) {
    engine_error("list");
    return std::nullopt;  // inspect each: that path knows outages
  }
}

void Poller::tick() {
  bool open;
  {
    std::lock_guard lock(mu_);
    open = outage_end_ns_ == INT64_MAX;
  }
  auto active = store_.running_attempts();
  std::erase_if(active, [this](const ActiveAttempt& a) { return !mine(a); });
  // Nothing may be running to find out that the engine is back: ask it. Its
  // boot time is asked for once it has runs to judge (an engine no
  // application uses, such as a swarm manager that is not one, is left
  // alone).
  if (open || (!boot_known_ && !active.empty())) {
    try {
      runtime_.ping();
      engine_answered();
    } catch (const EngineError&) {
    }
  }
  const auto exited = ended_runs(active.size());
  for (const auto& a : active) {
    if (kicker_.stopped()) return;
    if (exited && !exited->count(a.container_name)) {
      check_deadlines(a);  // still running, as far as the list knows
      continue;
    }
    if (!look_at(a)) return;
  }
}

void Poller::tick(const std::set<std::int64_t>& jobs) {
  // A job may still be starting: under load dockerd can answer a start call
  // long after the container has exited, and its result need not wait.
  for (const auto& a : store_.active_attempts_of(jobs)) {
    if (kicker_.stopped()) return;
    if (!mine(a)) continue;
    if (!look_at(a)) return;
  }
}

bool Poller::look_at(const ActiveAttempt& a) {
  spdlog::trace("job {}: inspecting {}", a.job_id, a.container_name);
  if (a.starting) {
    // The runner owns it until its start call returns: only a run that has
    // started and ended is recorded from here (a missing or queued one, or
    // an engine error, is the runner's to handle).
    RunStatus st;
    try {
      st = runtime_.status(a.container_name);
    } catch (const EngineError& e) {
      engine_error("inspect");
      return true;
    }
    if (st.phase == RunPhase::ended && st.message.empty() && st.started()) finish(a, st);
    return true;
  }
  RunStatus st;
  try {
    st = runtime_.status(a.container_name);
  } catch (const EngineError& e) {
    engine_error("inspect");
    if (e.kind() != EngineError::Kind::unreachable) {
      // Trouble with this one container: the others still get their turn.
      spdlog::warn("job {}: inspect failed: {}", a.job_id, e.what());
      return true;
    }
    if (!engine_down_)
      spdlog::warn("engine outage: {}; running jobs are checked again when it answers", e.what());
    engine_lost();
    engine_down_ = true;
    return false;  // try the whole round again next interval
  }
  engine_down_ = false;
  engine_answered();
  if (!st.exists()) {
    AttemptResult r;
    r.job_id = a.job_id;
    r.attempt = a.attempt;
    r.state = JobState::lost;
    r.reason = "container " + a.container_name + " disappeared (removed outside jobq?)";
    store_.finish_attempt(r);
    {
      std::lock_guard lock(mu_);
      signalled_.erase(a.job_id);
    }
    spdlog::warn("job {}: lost: {}", a.job_id, r.reason);
    on_final_(a.job_id);
  } else if (st.over()) {
    finish(a, st);
  } else if (!st.started() && st.phase == RunPhase::queued) {
    unplaced(a, st);
  } else {
    ActiveAttempt seen = a;
    // Running, and its start was not known (adopted after a restart, or
    // asked by the runner before the engine set it): the start as the
    // runtime reports it, so that `show`, `top` and the timeout have it.
    if (a.started_ns == 0 && store_.record_started(a.job_id, a.attempt, st.started_at))
      seen.started_ns = parse_rfc3339_ns(st.started_at).value_or(0);
    check_deadlines(seen);
  }
  return true;
}

void Poller::unplaced(const ActiveAttempt& a, const RunStatus& st) {
  const std::int64_t now = now_unix_ns();
  const bool late = a.schedule_timeout_ms > 0 && a.launched_ns > 0 &&
                    now >= a.launched_ns + a.schedule_timeout_ms * 1'000'000;
  if (!a.cancel_requested && !a.timed_out && !late) {
    if (!st.message.empty()) store_.note_waiting(a.job_id, a.attempt, st.message);
    return;
  }
  // Cancelled, or no node took it in time: it never ran, so it goes. Past
  // the schedule timeout the job fails with the scheduler's words (a launch
  // failure, for a retry policy).
  try {
    runtime_.forget(a.container_name);
  } catch (const EngineError& e) {
    engine_error("remove");
    spdlog::warn("job {}: could not remove {}: {}", a.job_id, a.container_name, e.what());
    return;  // next round
  }
  AttemptResult r;
  r.job_id = a.job_id;
  r.attempt = a.attempt;
  r.run_id = st.id;
  if (a.cancel_requested || a.timed_out) {
    r.state = a.cancel_requested ? JobState::cancelled : JobState::timed_out;
    r.reason = "cancelled before a node took it";
    if (!a.cancel_requested) r.reason = "ran past its timeout before a node took it";
  } else {
    r.state = JobState::failed;
    r.launch_error = true;
    r.error = st.message;
    r.reason = "no node took it within its schedule timeout of " +
               std::to_string(a.schedule_timeout_ms) + " ms" +
               (st.message.empty() ? "" : ": " + st.message);
  }
  spdlog::warn("job {}: {}", a.job_id, r.reason);
  store_.finish_attempt(r);
  on_final_(a.job_id);
}

void Poller::check_deadlines(const ActiveAttempt& a) {
  if (a.cancel_requested || a.timed_out) {
    request_stop(a);
  } else if (a.timeout_ms > 0 && a.started_ns > 0 &&
             now_unix_ns() > a.started_ns + a.timeout_ms * 1'000'000) {
    // Past its time (measured from the run's recorded start, so a restart of
    // jobqd in between changes nothing): recorded first, then stopped.
    spdlog::info("job {}: ran past its timeout of {} ms; stopping", a.job_id, a.timeout_ms);
    store_.mark_timed_out(a.job_id);
    request_stop(a);
  }
}

void Poller::request_stop(const ActiveAttempt& a) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_.insert(a.job_id).second) return;
  }
  spdlog::info("job {}: stopping {}", a.job_id, a.container_name);
  stoppers_.submit([this, a] {
    try {
      runtime_.stop(a.container_name, opts_.stop_grace_seconds);
    } catch (const EngineError& e) {
      engine_error("stop");
      spdlog::warn("job {}: stop failed: {}", a.job_id, e.what());
    }
    {
      std::lock_guard lock(mu_);
      stopping_.erase(a.job_id);
    }
    check(a.job_id);
  });
}

void Poller::reconcile() {
  std::vector<RunSummary> runs;
  try {
    runs = runtime_.runs(false);
  } catch (const EngineError& e) {
    spdlog::debug("reconcile: {}", e.what());
    return;
  }
  std::vector<std::string> unknown;
  for (const auto& c : runs) {
    std::optional<JobState> state;
    if (c.job_id && c.attempt) state = store_.attempt_state(*c.job_id, *c.attempt);
    if (!state) {
      unknown.push_back(c.name);
      continue;
    }
    if (is_final(*state) && !opts_.keep_containers) {
      spdlog::info("reconcile: removing {}, whose result is already recorded", c.name);
      try {
        runtime_.forget(c.name);
      } catch (const EngineError& e) {
        spdlog::warn("reconcile: could not remove {}: {}", c.name, e.what());
      }
    }
  }
  for (const auto& name : unknown)
    spdlog::warn(
        "reconcile: container {} carries this jobqd's labels but no job knows it; "
        "left alone",
        name);
  std::lock_guard lock(mu_);
  unknown_ = std::move(unknown);
}

void Poller::engine_lost() {
  std::lock_guard lock(mu_);
  if (outage_end_ns_ == INT64_MAX && outage_start_ns_ != 0) return;  // still the same outage
  outage_start_ns_ = now_unix_ns();
  outage_end_ns_ = INT64_MAX;  // until it answers again
}

void Poller::engine_answered() {
  {
    std::lock_guard lock(mu_);
    if (outage_end_ns_ == INT64_MAX) {
      outage_end_ns_ = now_unix_ns();
      spdlog::info("the engine answers again");
    } else if (boot_known_) {
      return;
    }
  }
  // A restarted engine is a new process: ask when it started (poller thread).
  engine_boot_ns_ = runtime_.boot_time_ns();
  boot_known_ = true;
}

void Poller::signalled(std::int64_t job_id) {
  std::lock_guard lock(mu_);
  signalled_.emplace(job_id, now_unix_ns());
}

// What dockerd 20.10 does to its containers when it stops, as seen with a
// private dockerd (tests/integration/engine_restart.sh sets one up):
// - SIGTERM to dockerd: its API and event stream stay up while it stops
//   every running container as `docker stop` does: a `kill` event (signal
//   15) for each at once, then a `die` with the container's own exit code (a
//   job that traps SIGTERM exits as it likes: 0, 3...); after the
//   container's stop timeout (10 s by default; --shutdown-timeout did not
//   shorten it) `kill` with signal 9 and `die` with 137. Only then does the
//   stream end (about 12 s after the first signal there). FinishedAt is the
//   moment each one died, all before the stream broke.
// - SIGKILL to dockerd: the containers live on under their shims; the next
//   dockerd, while it restores them at boot and before its API answers,
//   stops each (kill 15, die, then kill 9 and 137 after 10 s), so their
//   FinishedAt lies between the old engine's death and the new one's first
//   answer. Exit code 255 (with FinishedAt at the restore) is what Docker
//   records when the container's processes were already gone (containerd
//   went down with them).
// Hence: a death after a signal that was not jobq's is held until the
// engine is seen to go away after it (its shutdown) or signal_hold passes (a
// `docker stop` by hand: the container's own result); a death inside an
// outage that jobqd saw is the engine's; and when jobqd was down, a
// container started under an earlier engine process that died around that
// process's start (the engine's boot time, from /proc when it can be known)
// is taken as stopped by the engine's restart.
std::string Poller::engine_stop_reason(const ActiveAttempt& a, const RunStatus& st, bool* hold) {
  *hold = false;
  const std::string code = "exit code " + std::to_string(st.exit_code);
  const std::string engine = runtime_.engine_name();
  const std::string stopped = "killed when " + engine + " stopped";
  const auto finished = parse_rfc3339_ns(st.finished_at);
  const auto started = parse_rfc3339_ns(st.started_at);
  const auto now = now_unix_ns();
  const std::int64_t hold_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(opts_.signal_hold).count();
  std::lock_guard lock(mu_);
  if (const auto sig = signalled_.find(a.job_id); sig != signalled_.end()) {
    if (outage_start_ns_ >= sig->second && outage_start_ns_ - sig->second <= hold_ns)
      return stopped + " (" + code + ")";
    if (now - sig->second < hold_ns) {
      *hold = true;
      return "";
    }
  }
  constexpr std::int64_t kSlack = 2'000'000'000;  // a death just before the outage was seen
  if (outage_start_ns_ != 0 && finished && *finished >= outage_start_ns_ - kSlack &&
      *finished <= outage_end_ns_)
    return stopped + " (" + code + ")";
  constexpr std::int64_t kAround = 60'000'000'000;  // a shutdown's and a restore's length
  if (engine_boot_ns_ && started && finished && *started > 0 && *started < *engine_boot_ns_ &&
      *finished >= *engine_boot_ns_ - kAround && *finished <= *engine_boot_ns_ + kAround)
    return stopped + ": " + engine + " restarted at " + format_unix_ns(*engine_boot_ns_) +
           (started_ns_ > *engine_boot_ns_ ? " while jobqd was down" : "") + " (" + code + ")";
  return "";
}

std::vector<std::string> Poller::unknown_containers() {
  std::lock_guard lock(mu_);
  return unknown_;
}

void Poller::finish(const ActiveAttempt& a, const RunStatus& st) {
  AttemptResult r = result_from(a, st);
  // Whatever its exit code, a job the engine stopped did not finish its
  // work: failed (counted as `lost` by a retry policy), the engine named.
  // A cancel, a timeout or an OOM kill keeps its own result.
  if (r.state == JobState::succeeded ||
      (r.state == JobState::failed && !r.oom_killed.value_or(false) && st.message.empty())) {
    // The engine's process now: a restart quicker than the poll rounds (a
    // second, and a swarm manager is one again) may have gone unseen.
    if (boot_known_) engine_boot_ns_ = runtime_.boot_time_ns();
    bool hold = false;
    const std::string why = engine_stop_reason(a, st, &hold);
    if (hold) {
      spdlog::debug(
          "job {}: exited after a signal not sent by jobq; held until it is known whether the "
          "engine is stopping",
          a.job_id);
      return;
    }
    if (!why.empty()) {
      r.state = JobState::failed;
      r.reason = why;
      r.engine_stopped = true;
    } else if (!st.exit_note.empty()) {
      r.reason = "exit code " + std::to_string(st.exit_code) + " (" + st.exit_note + ")";
    }
  }
  spdlog::trace("job {}: exited; collecting its output", a.job_id);
  TimestampedTail out(opts_.log_cap), err(opts_.log_cap);
  try {
    // With the engine's timestamps, so that `jobq logs --since/--timestamps`
    // work on the stored output too (log_filter.hpp).
    LogOptions with_times;
    with_times.timestamps = true;
    runtime_.output(
        a.container_name, with_times,
        [&](LogStream s, std::string_view bytes) {
          (s == LogStream::stdout_stream ? out : err).append(bytes);
        },
        [] { return true; });
  } catch (const EngineError& e) {
    engine_error("logs");
    spdlog::warn("job {}: could not collect logs: {}", a.job_id, e.what());
    if (e.kind() == EngineError::Kind::not_found || e.kind() == EngineError::Kind::conflict) {
      // Removed (or being removed) under our feet, as `docker rm -f` does:
      // it kills, then removes. What it was seen exiting with is kept.
      r.state = JobState::lost;
      r.reason = "container " + a.container_name +
                 " was removed outside jobq (it was seen exiting with code " +
                 std::to_string(st.exit_code) + ")";
    } else {
      // Keep the container and try again next round, but not forever: the
      // result matters more than the output.
      if (e.transient() && ++log_failures_[a.job_id] < 3) return;
      r.reason +=
          r.reason.empty() ? "output could not be collected" : "; output could not be collected";
    }
  }
  log_failures_.erase(a.job_id);
  {
    std::lock_guard lock(mu_);
    signalled_.erase(a.job_id);
  }
  r.stdout_log = CapturedLog{"", out.truncated(), out.total_bytes(), true};
  r.stdout_log->data = out.take();
  r.stderr_log = CapturedLog{"", err.truncated(), err.total_bytes(), true};
  r.stderr_log->data = err.take();
  spdlog::trace("job {}: committing its result", a.job_id);
  fault_point("before_result_commit");
  const auto was = store_.finish_attempt(r);
  fault_point("after_result_commit");
  if (const auto finished = parse_rfc3339_ns(st.finished_at); finished && opts_.metrics)
    opts_.metrics->finish_lag.observe(static_cast<double>(now_unix_ns() - *finished) / 1e9);
  spdlog::info("job {}: attempt {} {} (exit code {})", a.job_id, a.attempt, to_string(r.state),
               st.exit_code);
  on_final_(a.job_id);
  // Ended while starting (as the store saw it, in the same transaction as
  // the runner's mark_running): the container stays until the launch is
  // settled, and the runner removes it (Runner::recorded_meanwhile).
  if (!opts_.keep_containers && was != JobState::starting) {
    // Dropped when jobqd stops first; reconcile removes it at the next start.
    const auto until = std::chrono::steady_clock::now() + opts_.removal_patience;
    removers_.submit([this, until, job = a.job_id, name = a.container_name] {
      while (opts_.engine_busy && opts_.engine_busy() && std::chrono::steady_clock::now() < until &&
             !kicker_.stopped())
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      if (kicker_.stopped()) return;
      try {
        runtime_.forget(name);
      } catch (const EngineError& e) {
        engine_error("remove");
        spdlog::warn("job {}: could not remove {}: {}", job, name, e.what());
      }
    });
  }
}

}  // namespace jobq
