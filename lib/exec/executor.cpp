#include "exec/executor.hpp"

#include <stdexcept>

namespace jobq {

namespace {
PollerOptions with_busy(PollerOptions o, std::function<bool()> busy) {
  o.engine_busy = std::move(busy);
  return o;
}
}  // namespace

// The lambdas below reach parts declared later; they run only once start()
// has started their threads, when every part exists.
Executor::Lane::Lane(Store& store, Runtime& rt, const ExecutorOptions& opts, Executor& exec)
    : runtime(rt),
      health(rt),
      poller(store, rt, with_busy(opts.poller, [&exec] { return exec.runner_.in_flight() > 0; }),
             [&exec](std::int64_t job) { exec.job_final(job); }),
      puller(rt, opts.puller, [&exec] { exec.runner_.kick(); }),
      events(
          rt, [this](std::optional<std::int64_t> job) { job ? poller.check(*job) : poller.kick(); },
          [this] { poller.engine_lost(); }, [this](std::int64_t job) { poller.signalled(job); }) {}

Executor::Executor(Store& store, Runtimes runtimes, ExecutorOptions opts, JobEvent on_final)
    : runtimes_(std::move(runtimes)),
      on_final_(std::move(on_final)),
      notifier_(store, opts.notifier),
      retention_(store, opts.retention),
      lanes_([&] {
        if (runtimes_.all().empty()) throw std::invalid_argument("an executor needs a runtime");
        std::vector<std::unique_ptr<Lane>> lanes;
        for (Runtime* rt : runtimes_.all())
          lanes.push_back(std::make_unique<Lane>(store, *rt, opts, *this));
        return lanes;
      }()),
      runner_(
          store, runtimes_,
          [&] {
            RunnerOptions r = opts.runner;
            r.pullers.clear();
            for (const auto& l : lanes_)
              if (l->runtime.capabilities().pulls_images) r.pullers[l->runtime.kind()] = &l->puller;
            r.on_launched = [this](const std::string& app, bool warm) {
              warm_.launched(app, warm);
            };
            return r;
          }(),
          [this](std::int64_t job) { check(job); }, [this](std::int64_t job) { job_final(job); }),
      warm_(store, runtimes_, opts.warm,
            [this](const std::string& app) { return runner_.in_flight_except(app) == 0; }),
      scheduler_(store, opts.scheduler, [this](const FireOutcome& o) {
        for (const auto job : o.cancel_requested) check(job);
        for (const auto job : o.ended) job_final(job);
        if (!o.enqueued.empty()) runner_.kick();
      }) {}

Executor::~Executor() {
  stop();
}

Executor::Lane* Executor::lane(const std::string& kind) {
  for (const auto& l : lanes_)
    if (l->runtime.kind() == kind) return l.get();
  return nullptr;
}

Poller* Executor::poller(const std::string& kind) {
  Lane* l = lane(kind);
  return l ? &l->poller : nullptr;
}

EngineHealth* Executor::health(const std::string& kind) {
  Lane* l = lane(kind);
  return l ? &l->health : nullptr;
}

ImagePuller* Executor::puller(const std::string& kind) {
  Lane* l = lane(kind);
  return l && l->runtime.capabilities().pulls_images ? &l->puller : nullptr;
}

void Executor::check(std::int64_t job_id) {
  for (const auto& l : lanes_) l->poller.check(job_id);
}

void Executor::kick_pollers() {
  for (const auto& l : lanes_) l->poller.kick();
}

bool Executor::pulling(const std::string& image) {
  for (const auto& l : lanes_)
    if (l->puller.pulling(image)) return true;
  return false;
}

std::vector<std::string> Executor::unknown_runs() {
  std::vector<std::string> out;
  for (const auto& l : lanes_) {
    auto u = l->poller.unknown_containers();
    out.insert(out.end(), u.begin(), u.end());
  }
  return out;
}

void Executor::job_final(std::int64_t job_id) {
  if (on_final_) on_final_(job_id);
  notifier_.kick();
  runner_.kick();
}

void Executor::start() {
  for (const auto& l : lanes_) l->health.start();
  notifier_.start();
  for (const auto& l : lanes_) l->poller.start();
  retention_.start();
  runner_.start();
  for (const auto& l : lanes_)
    if (l->runtime.capabilities().end_events) l->events.start();
  warm_.start();
  scheduler_.start();
}

void Executor::stop() {
  scheduler_.stop();
  warm_.stop();
  for (const auto& l : lanes_) l->events.stop();
  runner_.stop();
  for (const auto& l : lanes_) l->puller.stop();
  retention_.stop();
  for (const auto& l : lanes_) l->poller.stop();
  notifier_.stop();
  for (const auto& l : lanes_) l->health.stop();
}

}  // namespace jobq
