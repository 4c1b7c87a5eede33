#include "poller.hpp"

#include <spdlog/spdlog.h>

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
  if (a.cancel_requested) {
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
      stoppers_(std::max(1, opts.stop_workers)) {}

Poller::~Poller() { stop(); }

void Poller::start() {
  thread_ = std::thread([this] {
    while (kicker_.wait_for(opts_.interval)) {
      try {
        tick();
      } catch (const std::exception& e) {
        spdlog::error("poller: {}", e.what());
      }
    }
  });
}

void Poller::stop() {
  kicker_.stop();
  if (thread_.joinable()) thread_.join();
  stoppers_.stop();
}

void Poller::tick() {
  for (const auto& a : store_.running_attempts()) {
    if (kicker_.stopped()) return;
    std::optional<ContainerState> st;
    try {
      st = engine_.inspect(a.container_name);
    } catch (const EngineError& e) {
      if (!engine_down_) spdlog::warn("poller: {}", e.what());
      engine_down_ = true;
      return;  // try the whole round again next interval
    }
    if (engine_down_) spdlog::info("poller: the engine answers again");
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
    } else if (a.cancel_requested) {
      request_stop(a);
    }
  }
}

void Poller::request_stop(const ActiveAttempt& a) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_.insert(a.job_id).second) return;
  }
  spdlog::info("job {}: stopping {} (cancel requested)", a.job_id, a.container_name);
  stoppers_.submit([this, a] {
    try {
      engine_.stop(a.container_name, opts_.stop_grace_seconds);
    } catch (const EngineError& e) {
      spdlog::warn("job {}: stop failed: {}", a.job_id, e.what());
    }
    {
      std::lock_guard lock(mu_);
      stopping_.erase(a.job_id);
    }
    kick();
  });
}

void Poller::finish(const ActiveAttempt& a, const ContainerState& st) {
  AttemptResult r = result_from(a, st);
  TailBuffer out(opts_.log_cap), err(opts_.log_cap);
  try {
    engine_.logs(a.container_name, [&](LogStream s, std::string_view bytes) {
      (s == LogStream::stdout_stream ? out : err).append(bytes);
    });
  } catch (const EngineError& e) {
    spdlog::warn("job {}: could not collect logs: {}", a.job_id, e.what());
    if (e.transient()) return;  // keep the container; try again next round
  }
  r.stdout_log = CapturedLog{"", out.truncated(), out.total_bytes()};
  r.stdout_log->data = out.take();
  r.stderr_log = CapturedLog{"", err.truncated(), err.total_bytes()};
  r.stderr_log->data = err.take();
  store_.finish_attempt(r);
  spdlog::info("job {}: attempt {} {} (exit code {})", a.job_id, a.attempt, to_string(r.state),
               st.exit_code);
  if (!opts_.keep_containers) {
    try {
      engine_.remove(a.container_name);
    } catch (const EngineError& e) {
      spdlog::warn("job {}: could not remove {}: {}", a.job_id, a.container_name, e.what());
    }
  }
  on_final_(a.job_id);
}

}  // namespace jobq
