#include "exec/executor.hpp"

namespace jobq {

namespace {
PollerOptions with_busy(PollerOptions o, std::function<bool()> busy) {
  o.engine_busy = std::move(busy);
  return o;
}
RunnerOptions with_puller(RunnerOptions o, ImagePuller* puller) {
  o.puller = puller;
  return o;
}
}  // namespace

// The lambdas below reach parts declared later; they run only once start()
// has started their threads, when every part exists.
Executor::Executor(Store& store, Runtime& runtime, ExecutorOptions opts, JobEvent on_final)
    : runtime_(runtime),
      on_final_(std::move(on_final)),
      notifier_(store, opts.notifier),
      health_(runtime),
      poller_(store, runtime, with_busy(opts.poller, [this] { return runner_.in_flight() > 0; }),
              [this](std::int64_t job) { job_final(job); }),
      retention_(store, opts.retention),
      puller_(runtime, opts.puller, [this] { runner_.kick(); }),
      runner_(
          store, runtime, with_puller(opts.runner, &puller_),
          [this](std::int64_t job) { poller_.check(job); },
          [this](std::int64_t job) { job_final(job); }),
      events_(
          runtime,
          [this](std::optional<std::int64_t> job) { job ? poller_.check(*job) : poller_.kick(); },
          [this] { poller_.engine_lost(); }, [this](std::int64_t job) { poller_.signalled(job); }) {
}

Executor::~Executor() {
  stop();
}

void Executor::job_final(std::int64_t job_id) {
  if (on_final_) on_final_(job_id);
  notifier_.kick();
  runner_.kick();
}

void Executor::start() {
  health_.start();
  notifier_.start();
  poller_.start();
  retention_.start();
  runner_.start();
  if (runtime_.capabilities().end_events) events_.start();
}

void Executor::stop() {
  events_.stop();
  runner_.stop();
  puller_.stop();
  retention_.stop();
  poller_.stop();
  notifier_.stop();
  health_.stop();
}

}  // namespace jobq
