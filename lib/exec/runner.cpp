#include "exec/runner.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include "base/fault.hpp"
#include "base/time_util.hpp"

namespace jobq {

Runner::Runner(Store& store, const Runtimes& runtimes, RunnerOptions opts, JobEvent on_started,
               JobEvent on_final)
    : store_(store),
      runtimes_(runtimes),
      opts_(opts),
      on_started_(std::move(on_started)),
      on_final_(std::move(on_final)),
      pool_(std::max(1, opts.launch_workers)) {}

Runner::~Runner() {
  stop();
}

void Runner::start() {
  thread_ = std::thread([this] {
    do {
      try {
        pass();
      } catch (const std::exception& e) {
        spdlog::error("runner: {}", e.what());
      }
    } while (kicker_.wait_for(next_wait()));
  });
}

std::chrono::milliseconds Runner::next_wait() {
  // Sleep until the next pass, or until a delayed job falls due if sooner.
  try {
    if (auto due = store_.next_due_ns()) {
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::nanoseconds(*due - now_unix_ns())) +
                        std::chrono::milliseconds(1);
      return std::clamp(wait, std::chrono::milliseconds(1), opts_.pass_interval);
    }
  } catch (const StoreError&) {
  }
  return opts_.pass_interval;
}

void Runner::stop() {
  kicker_.stop();
  if (thread_.joinable()) thread_.join();
  pool_.stop();
}

ImagePuller* Runner::puller_for(const std::string& runtime) const {
  const auto it = opts_.pullers.find(runtime);
  return it == opts_.pullers.end() ? nullptr : it->second;
}

int Runner::in_flight() {
  std::lock_guard lock(mu_);
  return static_cast<int>(in_flight_.size());
}

int Runner::in_flight_except(const std::string& app) {
  std::lock_guard lock(mu_);
  return static_cast<int>(std::count_if(in_flight_.begin(), in_flight_.end(),
                                        [&](const auto& f) { return f.second != app; }));
}

void Runner::drain() {
  std::unique_lock lock(mu_);
  idle_cv_.wait(lock, [&] { return in_flight_.empty(); });
}

bool Runner::dispatch(const LaunchTicket& t) {
  {
    std::lock_guard lock(mu_);
    if (!in_flight_.emplace(t.job_id, t.app).second) return false;
  }
  const bool queued = pool_.submit([this, t] {
    bool retry = false;
    try {
      retry = !launch(t);
    } catch (const std::exception& e) {
      spdlog::error("job {}: launch failed unexpectedly: {}", t.job_id, e.what());
      retry = true;
    }
    if (retry) {
      retry_later(t.job_id);
    }
    {
      std::lock_guard lock(mu_);
      in_flight_.erase(t.job_id);
      if (!retry) backoff_.erase(t.job_id);  // done with this attempt, one way or another
    }
    idle_cv_.notify_all();
    kicker_.kick();
  });
  if (!queued) {
    std::lock_guard lock(mu_);
    in_flight_.erase(t.job_id);
  }
  return queued;
}

void Runner::pass() {
  const auto now = std::chrono::steady_clock::now();
  // Launches that an earlier pass (or an earlier jobqd) could not complete.
  // The in-flight set is read before the store: a launch that ends between
  // the two reads is then no longer `starting` in the store, so it cannot be
  // mistaken for an abandoned one and launched twice.
  std::map<std::int64_t, std::string> in_flight_before;
  {
    std::lock_guard lock(mu_);
    in_flight_before = in_flight_;
  }
  for (const auto& t : store_.starting_attempts()) {
    if (in_flight_before.count(t.job_id)) continue;
    {
      std::lock_guard lock(mu_);
      auto b = backoff_.find(t.job_id);
      if (b != backoff_.end() && now < b->second.not_before) continue;
    }
    dispatch(t);
  }
  int room;
  {
    std::lock_guard lock(mu_);
    room = opts_.launch_workers - static_cast<int>(in_flight_.size());
  }
  if (room <= 0) return;
  for (Runtime* rt : runtimes_.all()) {
    try {
      rt->refresh_placement();
    } catch (const EngineError& e) {
      spdlog::debug("runner: {} placement not refreshed: {}", rt->kind(), e.what());
    }
  }
  const ClaimGate gate = [this](const App& app) {
    ClaimVerdict verdict;
    Runtime* rt = runtimes_.find(app.runtime);
    if (!rt) {
      verdict.claim = false;  // a runtime this jobqd lacks: its jobs wait
      return verdict;
    }
    if (ImagePuller* puller = puller_for(app.runtime)) {
      const auto v = puller->gate(app.image, app.pull);
      verdict = ClaimVerdict{v.claim, v.error, v.error_for_jobs_before_ns};
    }
    if (const auto free = rt->placement_room(app)) verdict.room = std::max(0, *free);
    return verdict;
  };
  const RunNaming naming = [this](const std::string& runtime, std::int64_t job_id, int attempt) {
    return runtimes_.get(runtime).run_name(job_id, attempt);
  };
  for (const auto& t : store_.claim_pending(opts_.global_max_running, room, naming, gate)) {
    spdlog::debug("job {}: claimed attempt {} as {}", t.job_id, t.attempt, t.spec.name);
    dispatch(t);
  }
}

bool Runner::recorded_meanwhile(const LaunchTicket& t) {
  Runtime& runtime = runtimes_.get(t.runtime);
  // The poller recorded this attempt's end while its start call was in
  // flight, and left the container in place for us: had it removed it, a
  // relaunch of the same attempt could have made it afresh and run the job
  // twice. With the launch settled, it goes.
  spdlog::info("job {}: attempt {} ended before its start call returned", t.job_id, t.attempt);
  if (!opts_.keep_containers) {
    try {
      runtime.forget(t.spec.name);
    } catch (const EngineError& e) {
      spdlog::warn("job {}: could not remove {}: {}", t.job_id, t.spec.name, e.what());
    }
  }
  return true;
}

void Runner::retry_later(std::int64_t job_id) {
  std::lock_guard lock(mu_);
  auto& b = backoff_[job_id];
  b.delay = b.delay.count() == 0 ? opts_.retry_min : std::min(b.delay * 2, opts_.retry_max);
  b.not_before = std::chrono::steady_clock::now() + b.delay;
}

int Runner::note_engine_start_failure(std::int64_t job_id) {
  std::lock_guard lock(mu_);
  return ++backoff_[job_id].engine_start_failures;
}

bool Runner::lost_before_start(const LaunchTicket& t) {
  // Its run was made (its id recorded before the start call), then removed
  // behind jobq's back: it may well have run. Never made again.
  AttemptResult r;
  r.job_id = t.job_id;
  r.attempt = t.attempt;
  r.state = JobState::lost;
  r.run_id = t.run_id;
  r.reason = "container " + t.spec.name + " (" + t.run_id.substr(0, 12) +
             ") was created, then removed outside jobq before its start was confirmed; "
             "not created again";
  spdlog::warn("job {}: lost: {}", t.job_id, r.reason);
  store_.finish_attempt(r);
  on_final_(t.job_id);
  return true;
}

bool Runner::wait_for_image(const LaunchTicket& t) {
  ImagePuller* puller = puller_for(t.runtime);
  if (!puller) return false;
  {
    std::lock_guard lock(mu_);
    if (!sent_back_for_image_.insert(t.job_id).second) return false;  // it was, once: fails now
  }
  const auto app = store_.get_app(t.app);
  if (!app || app->pull == PullPolicy::never) return false;
  puller->forget(t.spec.image);
  if (!store_.unclaim(t.job_id, t.attempt)) return false;
  spdlog::info("job {}: the engine has no image {}; pending again until it is pulled", t.job_id,
               t.spec.image);
  return true;
}

bool Runner::launch(const LaunchTicket& t) {
  const std::string& name = t.spec.name;
  const auto began = std::chrono::steady_clock::now();
  AttemptResult failed;
  failed.job_id = t.job_id;
  failed.attempt = t.attempt;
  fault_point("after_intent_commit");
  Runtime* found = runtimes_.find(t.runtime);
  if (!found) {
    failed.state = JobState::failed;
    failed.launch_error = true;
    failed.reason = "launch failed: this jobqd has no runtime '" + t.runtime + "' (it has " +
                    runtimes_.names() + ")";
    store_.finish_attempt(failed);
    on_final_(t.job_id);
    return true;
  }
  Runtime& runtime = *found;
  try {
    if (!store_.attempt_is_starting(t.job_id, t.attempt)) return true;  // launched already
    const bool cancel = store_.cancel_requested(t.job_id);
    RunStatus existing;
    if (cancel || !t.run_id.empty()) existing = runtime.status(name);
    if (!t.run_id.empty() && (!existing.exists() || existing.id != t.run_id))
      return lost_before_start(t);
    if (cancel) {
      // An earlier launch may have got as far as making the run, or even
      // starting it.
      if (!existing.exists() || existing.phase == RunPhase::queued ||
          existing.phase == RunPhase::launch_failed) {
        if (existing.exists()) runtime.forget(name);
        failed.state = JobState::cancelled;
        failed.reason = "cancel requested before it started";
        store_.finish_attempt(failed);
        on_final_(t.job_id);
        return true;
      }
      // It ran: adopt it, so that the poller stops it and records what it did.
      if (!store_.mark_running(t.job_id, t.attempt, existing)) return recorded_meanwhile(t);
      on_started_(t.job_id);
      return true;
    }
    // The pull of its image failed when it was claimed.
    if (!t.pull_error.empty()) throw EngineError(EngineError::Kind::rejected, 0, t.pull_error);
    // The id is recorded before the start call: if the run is then removed
    // behind jobq's back, the next look knows it existed.
    const RunStatus st =
        runtime.launch(RunKey{t.job_id, t.attempt, t.app}, t.spec,
                       [&](const std::string& run_id, const std::string& container_id) {
                         store_.record_run(t.job_id, t.attempt, run_id, container_id);
                       });
    // A runtime that tells of a failed start without an error of its own
    // (a task the scheduler rejected): failed as if the call had said so.
    if (st.phase == RunPhase::launch_failed)
      throw EngineError(EngineError::Kind::rejected, 0, st.message);
    if (!store_.mark_running(t.job_id, t.attempt, st)) return recorded_meanwhile(t);
    {
      std::lock_guard lock(mu_);
      sent_back_for_image_.erase(t.job_id);
    }
    if (opts_.metrics) {
      ++opts_.metrics->launches;
      opts_.metrics->launch_latency.observe(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());
    }
    const bool warm = !st.warm_started_at.empty();
    spdlog::info("job {}: attempt {} started as {} ({}){}", t.job_id, t.attempt, name,
                 st.id.substr(0, 12), warm ? ", warm" : "");
    if (opts_.on_launched) opts_.on_launched(t.app, warm);
    on_started_(t.job_id);
    return true;
  } catch (const EngineError& e) {
    if (opts_.metrics) opts_.metrics->engine_error("launch");
    // The poller may have recorded its end meanwhile (it saw the run end
    // while the start call was still in flight).
    if (!store_.attempt_is_starting(t.job_id, t.attempt)) return recorded_meanwhile(t);
    RunStatus st;
    try {
      st = runtime.status(name);
    } catch (const EngineError&) {
    }
    // The engine's own trouble (a 5xx: Docker's exit code 128, as opposed
    // to 126/127 and a 4xx for a command that cannot run) with a run that
    // never started. After dockerd dies during a start and comes back, the
    // start fails so ("task ...: already exists", "id already in use") for
    // as long as that container lives: it is removed and, later, made again
    // under the same name. It never ran, so that runs it once.
    const bool never_started =
        (st.phase == RunPhase::queued || st.phase == RunPhase::launch_failed) && !st.started();
    if (never_started && e.kind() == EngineError::Kind::server &&
        note_engine_start_failure(t.job_id) <= kEngineStartTries) {
      spdlog::warn(
          "job {}: the engine could not start {} ({}); it never ran: removed, to be "
          "created again",
          t.job_id, name, e.what());
      try {
        store_.record_run(t.job_id, t.attempt, "", "");
        runtime.forget(name);
      } catch (const EngineError& re) {
        spdlog::warn("job {}: could not remove {}: {}", t.job_id, name, re.what());
      }
      return false;
    }
    // A run that exists but could not start (no such executable...) carries
    // the engine's verdict in its message: that is final.
    if (st.exists() && !st.message.empty()) {
      record_run_status(failed, st);
      failed.reason = "could not start: " + st.message;
    } else if (!st.exists() && e.kind() == EngineError::Kind::no_image && wait_for_image(t)) {
      return true;
    } else if (e.transient()) {
      spdlog::warn("job {}: launch will be retried: {}", t.job_id, e.what());
      return false;
    } else {
      failed.error = e.what();
      failed.reason = "launch failed: " + std::string(e.what());
    }
  }
  spdlog::warn("job {}: {}", t.job_id, failed.reason);
  {
    std::lock_guard lock(mu_);
    sent_back_for_image_.erase(t.job_id);
  }
  failed.state = JobState::failed;
  failed.launch_error = true;
  if (opts_.metrics) ++opts_.metrics->launch_failures;
  store_.finish_attempt(failed);
  if (!opts_.keep_containers) {
    try {
      runtime.forget(name);
    } catch (const EngineError& e) {
      spdlog::warn("job {}: could not remove {}: {}", t.job_id, name, e.what());
    }
  }
  on_final_(t.job_id);
  return true;
}

}  // namespace jobq
