#include "poller.hpp"

#include <spdlog/spdlog.h>

#include "time_util.hpp"

#include "fault.hpp"
#include "log_demux.hpp"

namespace jobq {

AttemptResult result_from(const ActiveAttempt& a, const ContainerState& st) {
  AttemptResult r;
  r.job_id = a.job_id;
  r.attempt = a.attempt;
  r.exit_code = st.exit_code;
  r.oom_killed = st.oom_killed;
  r.error = st.error;
  r.container_id = st.id;
  r.started_at = st.started_at;
  r.finished_at = st.finished_at;
  // A cancel counts only if the container ended after it was asked for: one
  // that had already exited on its own keeps its own result.
  const auto finished = parse_rfc3339_ns(st.finished_at);
  const bool cancelled = a.cancel_requested &&
                         !(finished && a.cancel_requested_ns > 0 && *finished < a.cancel_requested_ns);
  const std::int64_t deadline =
      a.started_ns > 0 && a.timeout_ms > 0 ? a.started_ns + a.timeout_ms * 1'000'000 : 0;
  const bool timed_out = a.timed_out && !(finished && deadline > 0 && *finished < deadline);
  if (timed_out) {
    r.state = JobState::timed_out;
    r.reason = "ran past its timeout of " + std::to_string(a.timeout_ms) + " ms; stopped";
  } else if (cancelled) {
    r.state = JobState::cancelled;
    r.reason = "cancel requested while running";
  } else if (st.oom_killed) {
    r.state = JobState::failed;
    r.reason = "oom";
  } else if (!st.error.empty()) {
    r.state = JobState::failed;
    r.reason = "error: " + st.error;
  } else if (st.exit_code == 0) {
    r.state = JobState::succeeded;
  } else {
    r.state = JobState::failed;
    r.reason = "exit code " + std::to_string(st.exit_code);
  }
  return r;
}

Poller::Poller(Store& store, Engine& engine, PollerOptions opts, JobEvent on_final)
    : store_(store),
      engine_(engine),
      opts_(opts),
      on_final_(std::move(on_final)),
      stoppers_(std::max(1, opts.stop_workers)),
      removers_(std::max(1, opts.remove_workers)) {}

Poller::~Poller() { stop(); }

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
        if (opts_.retention.count() > 0 && now >= next_prune_) {
          next_prune_ = now + opts_.prune_interval;
          if (const auto n = prune_old(); n > 0) spdlog::info("pruned {} finished job(s) past the retention", n);
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

std::optional<std::set<std::string>> Poller::exited_containers(std::size_t running) {
  // Few running: inspect each (the simplest truth). Many: one list call names
  // the exited ones, and every container is inspected only at each sweep
  // (which also finds containers removed outside jobq).
  const auto now = std::chrono::steady_clock::now();
  if (running <= opts_.inspect_all_below || now >= next_sweep_) {
    next_sweep_ = now + opts_.sweep_interval;
    return std::nullopt;
  }
  try {
    std::set<std::string> names;
    for (const auto& c : engine_.list_exited("jobq.instance", opts_.instance)) names.insert(c.name);
    return names;
  } catch (const EngineError& e) {
    engine_error("list");
    return std::nullopt;  // inspect each: that path knows outages
  }
}

void Poller::tick() {
  const auto active = store_.running_attempts();
  const auto exited = exited_containers(active.size());
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
    if (!look_at(a)) return;
  }
}

bool Poller::look_at(const ActiveAttempt& a) {
  spdlog::trace("job {}: inspecting {}", a.job_id, a.container_name);
  if (a.starting) {
    // The runner owns it until its start call returns: only a container
    // that has run and exited is recorded from here (a missing or created
    // one, or an engine error, is the runner's to handle).
    std::optional<ContainerState> st;
    try {
      st = engine_.inspect(a.container_name);
    } catch (const EngineError& e) {
      engine_error("inspect");
      return true;
    }
    if (st && st->has_exited() && st->error.empty() &&
        parse_rfc3339_ns(st->started_at).value_or(0) > 0)
      finish(a, *st);
    return true;
  }
  std::optional<ContainerState> st;
  try {
    st = engine_.inspect(a.container_name);
  } catch (const EngineError& e) {
    engine_error("inspect");
    if (e.kind() != EngineError::Kind::unreachable) {
      // Trouble with this one container: the others still get their turn.
      spdlog::warn("job {}: inspect failed: {}", a.job_id, e.what());
      return true;
    }
    if (!engine_down_) {
      spdlog::warn("engine outage: {}; running jobs are checked again when it answers", e.what());
      engine_lost();
    }
    engine_down_ = true;
    return false;  // try the whole round again next interval
  }
  if (engine_down_) {
    spdlog::info("the engine answers again");
    std::lock_guard lock(mu_);
    outage_end_ns_ = now_unix_ns();
  }
  engine_down_ = false;
  if (!st) {
    AttemptResult r;
    r.job_id = a.job_id;
    r.attempt = a.attempt;
    r.state = JobState::lost;
    r.reason = "container " + a.container_name + " disappeared (removed outside jobq?)";
    store_.finish_attempt(r);
    spdlog::warn("job {}: lost: {}", a.job_id, r.reason);
    on_final_(a.job_id);
  } else if (st->has_exited()) {
    finish(a, *st);
  } else {
    check_deadlines(a);
  }
  return true;
}

void Poller::check_deadlines(const ActiveAttempt& a) {
  if (a.cancel_requested || a.timed_out) {
    request_stop(a);
  } else if (a.timeout_ms > 0 && a.started_ns > 0 &&
             now_unix_ns() > a.started_ns + a.timeout_ms * 1'000'000) {
    // Past its time (measured from Docker's StartedAt, so a restart of
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
      engine_.stop(a.container_name, opts_.stop_grace_seconds);
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
  std::vector<ContainerSummary> containers;
  try {
    containers = engine_.list("jobq.instance", opts_.instance);
  } catch (const EngineError& e) {
    spdlog::debug("reconcile: {}", e.what());
    return;
  }
  std::vector<std::string> unknown;
  for (const auto& c : containers) {
    std::optional<JobState> state;
    try {
      const auto job = c.labels.at("jobq.job");
      const auto attempt = c.labels.at("jobq.attempt");
      state = store_.attempt_state(std::stoll(job), std::stoi(attempt));
    } catch (const std::logic_error&) {  // missing or malformed labels
    }
    if (!state) {
      unknown.push_back(c.name);
      continue;
    }
    if (is_final(*state) && !opts_.keep_containers) {
      spdlog::info("reconcile: removing {}, whose result is already recorded", c.name);
      try {
        engine_.remove(c.name);
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

std::int64_t Poller::prune_old() {
  const std::int64_t before =
      now_unix_ns() - std::chrono::duration_cast<std::chrono::nanoseconds>(opts_.retention).count();
  std::int64_t total = 0;
  for (std::int64_t n; !kicker_.stopped() && (n = store_.prune(before, 1000)) > 0;) total += n;
  return total;
}

void Poller::engine_lost() {
  const auto now = now_unix_ns();
  {
    std::lock_guard lock(mu_);
    outage_seen_ns_ = now;
    outage_end_ns_ = INT64_MAX;  // until it answers again
  }
  constexpr std::int64_t kWindow = 60'000'000'000;  // dockerd's shutdown takes seconds
  try {
    for (auto id : store_.note_engine_kills(now, kWindow))
      spdlog::warn("job {}: its container was killed when the Docker engine stopped", id);
  } catch (const StoreError& e) {
    spdlog::warn("could not note engine kills: {}", e.what());
  }
}

std::vector<std::string> Poller::unknown_containers() {
  std::lock_guard lock(mu_);
  return unknown_;
}

void Poller::finish(const ActiveAttempt& a, const ContainerState& st) {
  AttemptResult r = result_from(a, st);
  const int code = st.exit_code;
  if (r.state == JobState::failed && !st.oom_killed &&
      (code == 255 || code == 137 || code == 143)) {
    const auto finished = parse_rfc3339_ns(st.finished_at);
    std::int64_t outage, outage_end;
    {
      std::lock_guard lock(mu_);
      outage = outage_seen_ns_;
      outage_end = outage_end_ns_;
    }
    // Killed during an outage we saw (with a minute's slack before it, as the
    // engine kills its containers while it is still answering).
    constexpr std::int64_t kSlack = 60'000'000'000;
    if (outage != 0 && finished && *finished >= outage - kSlack && *finished <= outage_end)
      r.reason = "killed when the Docker engine stopped (exit code " + std::to_string(code) + ")";
    else if (code == 255)
      r.reason =
          "exit code 255 (also what Docker reports for a container killed by an engine restart)";
  }
  spdlog::trace("job {}: exited; collecting its output", a.job_id);
  TimestampedTail out(opts_.log_cap), err(opts_.log_cap);
  try {
    // With Docker's timestamps, so that `jobq logs --since/--timestamps`
    // work on the stored output too (log_filter.hpp).
    Engine::LogOptions with_times;
    with_times.timestamps = true;
    engine_.stream_logs(
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
        engine_.remove(name);
      } catch (const EngineError& e) {
        engine_error("remove");
        spdlog::warn("job {}: could not remove {}: {}", job, name, e.what());
      }
    });
  }
}

}  // namespace jobq
