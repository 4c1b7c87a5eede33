// Store: every application, job, attempt and captured log, in one
// SQLite database (WAL, synchronous=FULL). Each mutating call is one
// transaction, committed before it returns: acknowledged means durable.
// The schema is versioned with PRAGMA user_version; a database written by a
// newer jobq is refused. Thread-safe (one connection behind a mutex).
// One class, implemented by subject:
//   schema.cpp    migrations, opening the database, busy_statements
//   apps.cpp      applications, app_loads, no_such_app
//   jobs.cpp      enqueue, retry, update_pending, cancel; reading jobs
//   cascade.cpp   a job's end: its dependents and webhooks (job_ended_locked)
//   attempts.cpp  claims, launches, results, active attempts, logs
//   outbox.cpp    the webhook outbox
//   history.cpp   app_summaries, ended_jobs, attempts_by_app, prune
//   schedules.cpp schedules and their slots (fire_slots: the slots' jobs)
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "model/fair_share.hpp"
#include "model/model.hpp"
#include "model/pending_reason.hpp"
#include "model/run.hpp"
#include "model/schedule.hpp"
#include "store/store_error.hpp"

struct sqlite3;
namespace jobq::sql {
class Stmt;
class StmtCache;
}  // namespace jobq::sql

namespace jobq {

struct NewJob {
  std::string app;
  std::optional<std::vector<std::string>> command;
  EnvMap env;
  std::optional<std::string> message;
  LabelMap labels;
  std::int64_t submitter_uid = -1;
  std::string submitter_name;
  int priority = 0;
  std::int64_t not_before_ns = 0;
  bool held = false;
  std::string key;                      // idempotency key; "" = none
  std::int64_t timeout_ms = 0;          // 0: the application's
  nlohmann::json retry = nullptr;       // fields overriding the application's retry policy
  Resources resources;                  // may only lower the application's (checked by the caller)
  std::vector<std::int64_t> after;      // start when all of these succeeded
  std::vector<std::int64_t> after_any;  // start when all of these ended
  std::string schedule;                 // made by this schedule's slot (see Job)
  std::int64_t slot = 0;
};

struct AppUpdate {
  std::optional<std::string> image;
  std::optional<PullPolicy> pull;
  std::optional<int> max_running;
  std::optional<bool> paused;
  std::optional<std::int64_t> timeout_ms;
  std::optional<nlohmann::json> retry;  // fields to replace (see policy.hpp)
  std::optional<nlohmann::json> resources;
  std::optional<nlohmann::json> webhooks;
  std::optional<std::string> runtime;       // for the attempts made from now on
  std::optional<nlohmann::json> placement;  // fields to replace (see placement.hpp)
  std::optional<int> warm;                  // App::warm
  EnvMap set_env;
  std::vector<std::string> unset_env;
};

// Which jobs list_jobs reads: each given field must match. The app, state,
// user and since filters are answered from indexes (by app and state, by
// state, by submitter, by creation time) read newest first, so a page costs
// the jobs it returns, not the table; labels are checked on those rows.
struct JobFilter {
  std::optional<std::string> app;
  std::optional<JobState> state;
  int limit = 100;
  std::optional<std::int64_t> before_id;  // only jobs with a smaller id (list pages)
  std::vector<JobState> states;           // any of these (with `state`, if given)
  std::optional<std::string> user;        // submitted by this user (name)
  // Each label must be set; to this value, unless it is nullopt.
  std::map<std::string, std::optional<std::string>> labels;
  std::optional<std::int64_t> since_ns;  // created at or after (the daemon's clock)
  // Made by this schedule (its owner's uid and its name), from jobs_by_schedule.
  std::optional<std::pair<std::int64_t, std::string>> schedule;
};

// A claimed launch: the attempt is committed as `starting` with this spec.
struct LaunchTicket {
  std::int64_t job_id = 0;
  int attempt = 0;
  std::string app;
  std::string runtime;  // the kind of runtime that launches it (the application's at the claim)
  RunSpec spec;
  // The run's id, recorded once the runtime made it (before its start);
  // "" when it never was (as far as the store knows).
  std::string run_id;
  // Not stored: the application's image could not be pulled (Docker's
  // message, from the claim's gate); the launch fails with it.
  std::string pull_error;
};

// Asked by claim_pending for each application that has jobs it would claim:
// whether to claim them now (false: they stay pending, holding no slot), and
// with what pull error. Called under the store's lock: it must not block or
// call the store.
struct ClaimVerdict {
  bool claim = true;
  std::string pull_error;
  // With pull_error, > 0: only jobs pending since before then (Unix ns, by
  // their updated_at) get it; later ones stay pending.
  std::int64_t pull_error_before_ns = 0;
  // At most this many of its jobs now (its runtime's placement has room for
  // no more); -1: as many as its limits allow.
  int room = -1;
};
using ClaimGate = std::function<ClaimVerdict(const App&)>;

// How a claim names its runs: the run_name of the runtime of that kind (the
// application's, recorded with each attempt). The store only keeps what it
// is given.
using RunNaming =
    std::function<std::string(const std::string& runtime, std::int64_t job_id, int attempt)>;

struct ActiveAttempt {
  std::int64_t job_id = 0;
  int attempt = 0;
  std::string container_name;
  bool cancel_requested = false;
  std::int64_t cancel_requested_ns = 0;   // when (daemon clock); 0 = unknown
  std::int64_t started_ns = 0;            // the run's recorded start; 0 = unknown
  std::int64_t timeout_ms = 0;            // the job's, else its application's; 0 = none
  bool timed_out = false;                 // the timeout was hit: stop it, record timed_out
  bool starting = false;                  // its start call is still in flight (the runner's)
  std::string runtime = kDefaultRuntime;  // the kind of runtime that runs it
  std::int64_t schedule_timeout_ms = 0;   // its application's; 0 = none
  std::int64_t launched_ns = 0;           // when its launch was committed (daemon clock)
};

struct CapturedLog {
  std::string data;
  bool truncated = false;
  std::uint64_t total_bytes = 0;
  bool timestamped = false;  // each line starts with Docker's RFC 3339 timestamp and a space
};

// What became of one group of enqueue_groups: its jobs (and whether each
// existed already, by key), or the error that undid the whole group.
struct EnqueueOutcome {
  std::vector<std::pair<Job, bool>> jobs;
  std::optional<StoreError> error;
};

// One application at a glance (jobq status).
struct AppSummary {
  std::string name;
  int max_running = 0;
  bool paused = false;
  std::int64_t running = 0;  // starting or running
  std::int64_t pending = 0;
  std::int64_t failed_last_hour = 0;  // failed, lost or timed out
  std::string oldest_pending_at;      // created_at of the oldest pending job; "" if none
};

// A job that ended, as `jobq stats` needs it.
struct EndedJob {
  std::string app;
  JobState state = JobState::succeeded;
  std::string created_at;        // daemon clock
  std::string first_started_at;  // Docker's StartedAt of the first attempt
  std::string started_at;        // ... and of the last attempt
  std::string finished_at;       // Docker's FinishedAt of the last attempt
};

// A webhook call waiting in the outbox (committed with the job's end).
struct Delivery {
  std::int64_t id = 0;
  std::string uuid;  // X-Jobq-Delivery: random (v4), the same on every try of this call
  std::int64_t job_id = 0;
  std::string event;
  std::string url;
  std::string body;
  int tries = 0;
};

struct AttemptResult {
  std::int64_t job_id = 0;
  int attempt = 0;
  JobState state = JobState::failed;
  std::string reason;
  std::optional<int> exit_code;
  std::optional<bool> oom_killed = false;  // nullopt: its runtime could not tell
  std::string error;
  std::string container_id;              // "" : as recorded before
  std::string run_id;                    // "" : as recorded before
  std::string node;                      // "" : as recorded before
  std::string node_id;                   // "" : as recorded before
  std::optional<TimeSource> times_from;  // nullopt: as recorded before
  std::string started_at;
  std::string finished_at;
  std::string warm_started_at;  // "" : as recorded before
  bool launch_error = false;    // the engine refused to create or start it
  // The engine stopped it (its shutdown or restart): a failure that counts
  // as `lost` for a retry policy, whatever the exit code.
  bool engine_stopped = false;
  std::optional<CapturedLog> stdout_log;
  std::optional<CapturedLog> stderr_log;
};

// What a runtime reported of the run, as the attempt's result records it:
// exit code, OOM kill (nullopt when it cannot tell), the engine's message as the
// error, the run's ids, node, times and their source.
void record_run_status(AttemptResult& r, const RunStatus& st);

// Who asks for a cancel: their uid and name, and whether they are an admin
// other than the job's owner.
struct CancelledBy {
  std::int64_t uid = -1;
  std::string name;
  bool admin = false;
};

// One decided slot (schedule/plan.hpp's PlannedSlot, in Unix seconds).
struct SlotDecision {
  std::int64_t slot = 0;
  bool fire = false;  // false: missed, for `reason`
  std::string reason;
  std::int64_t last = 0;  // a run of missed slots: its last one, and how many
  std::int64_t count = 1;
};

// A schedule's due slots, decided: committed only if the schedule still
// waits for `expected_next` (else it changed meanwhile: nothing happens).
struct ScheduleAdvance {
  std::int64_t schedule_id = 0;
  std::int64_t expected_next = 0;
  std::vector<SlotDecision> slots;
  std::int64_t next = 0;  // the slot it waits for then; 0: none more
};

// What fire_slots did: the jobs it made, the running jobs it asked to
// cancel (overlap replace) and those that ended at once (skipped on a
// dependency, cancelled while pending), and each slot's outcome.
struct FireOutcome {
  std::vector<std::int64_t> enqueued;
  std::vector<std::int64_t> cancel_requested;
  std::vector<std::int64_t> ended;
  std::int64_t fired = 0, skipped = 0, missed = 0;
  std::int64_t stale = 0;  // advances not committed: the schedule had changed
};

class Store {
 public:
  static constexpr int kSchemaVersion = 12;

  explicit Store(const std::string& path);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Statements of this connection left mid-result (0 between calls): one left
  // so would hold a read snapshot and keep the WAL from being checkpointed.
  int busy_statements();

  // Random id made when the database is created; part of run names.
  const std::string& instance() const { return instance_; }

  App create_app(const App& app);
  App update_app(const std::string& name, const AppUpdate& update);
  std::optional<App> get_app(const std::string& name);
  std::vector<App> list_apps();
  // Every application's image, pause and limit, and how many of its jobs
  // are starting or running: what a pending job waits for (two queries).
  std::map<std::string, AppLoad> app_loads();
  // The not_found error for an application that does not exist: "no
  // application named 'X'; did you mean 'Y'?" when a name is within 2 edits.
  StoreError no_such_app(const std::string& name);
  // Refused (conflict) while the app has unfinished jobs, unless `force`:
  // then its pending jobs are cancelled and its running ones marked for
  // cancellation; their ids are returned.
  std::vector<std::int64_t> delete_app(const std::string& name, bool force);

  // With a key this user already used in the application, returns that job instead
  // (and sets *existed), so a retried enqueue never doubles work. Each
  // dependency must exist (not_found otherwise: nothing is enqueued). A job
  // whose `after` dependency already ended without success is skipped at once.
  Job enqueue(const NewJob& job, bool* existed = nullptr);
  // Several enqueues in one transaction (one fsync: group commit). Each
  // group is all-or-nothing on its own; a failed group leaves the others.
  std::vector<EnqueueOutcome> enqueue_groups(const std::vector<std::vector<NewJob>>& groups);
  // A finished job runs again: pending, a fresh retry budget, no hold, no
  // delay. Conflict when it has not finished or its application is gone.
  Job retry_job(std::int64_t job_id, const std::string& by);
  // A pending (or held) job's priority and/or hold (held: kept from
  // starting), in one transaction; conflict when it is no longer pending.
  Job update_pending(std::int64_t job_id, std::optional<int> priority, std::optional<bool> held);
  // The earliest not_before of a pending, unheld job still in the future
  // (unix ns), so the runner can wake for it; nullopt when none.
  std::optional<std::int64_t> next_due_ns();
  std::optional<Job> get_job(std::int64_t id);
  bool job_exists(std::int64_t id);  // without reading the job
  std::vector<Job> list_jobs(const JobFilter& filter);
  std::map<std::string, std::int64_t> count_jobs_by_state();
  std::map<std::pair<std::string, std::string>, std::int64_t> count_jobs_by_app_state();

  // Moves up to `max_claims` pending jobs to `starting`, creating their
  // attempts, while per-app limits and `global_max` (0 = none) allow. Held
  // jobs, jobs not yet due and paused applications are skipped. Within an
  // application: priority, then FIFO. Across applications: round robin, one
  // job per application per round, so a flood in one cannot starve another.
  // `gate`, when given, may keep an application's jobs pending (see ClaimGate).
  // Each attempt's run is named by `naming`; its spec is run_spec_for's.
  std::vector<LaunchTicket> claim_pending(int global_max, int max_claims, const RunNaming& naming,
                                          const ClaimGate& gate = {});
  // Undoes the claim of a starting attempt that never got a container (the
  // engine lacked its image): the attempt is forgotten and the job is
  // pending again, as if never claimed. False (nothing changed) unless the
  // attempt is starting with no container recorded.
  bool unclaim(std::int64_t job_id, int attempt);
  // Attempts committed as starting whose launch has not been confirmed.
  std::vector<LaunchTicket> starting_attempts();
  // The starting attempt's run was made with this id, and its container
  // (where known) with that one ("" for both: the run is being removed, as
  // one that never ran and is made anew). False when the attempt is no
  // longer starting.
  bool record_run(std::int64_t job_id, int attempt, const std::string& run_id,
                  const std::string& container_id);
  // False: the attempt was no longer starting (its end was recorded while
  // the start call was in flight); nothing changed. The run's ids, node and
  // start (kept verbatim, and as nanoseconds for timeouts) are recorded; a
  // start that is unset (or Docker's zero time) is not known yet
  // (record_started fills it in later).
  bool mark_running(std::int64_t job_id, int attempt, const RunStatus& run);
  // A running attempt whose start was not known is seen running with this
  // start (verbatim): recorded, once. False when it was known already, the
  // attempt is not running, or the time is unset (or Docker's zero time).
  // The attempt's final result (finish_attempt) replaces it with its own
  // StartedAt, unless that is empty (a container that vanished).
  bool record_started(std::int64_t job_id, int attempt, const std::string& started_at);
  // The running attempt's run has not started: the scheduler says why (a
  // node is wanted). Recorded when it changed; "" once it started.
  void note_waiting(std::int64_t job_id, int attempt, const std::string& why);
  // The job ran past its timeout: from now on it is stopped, and its end is
  // recorded as timed_out (durable, so a restart carries it out too).
  void mark_timed_out(std::int64_t job_id);
  std::vector<ActiveAttempt> running_attempts();
  // The starting or running attempts of these jobs.
  std::vector<ActiveAttempt> active_attempts_of(const std::set<std::int64_t>& jobs);
  // Records an attempt's end (once: nullopt when it had already ended).
  // Returns the state it ended from, starting or running: the one that
  // settles who removes the container (see Poller::finish).
  std::optional<JobState> finish_attempt(const AttemptResult& result);
  bool cancel_requested(std::int64_t job_id);
  bool attempt_is_starting(std::int64_t job_id, int attempt);
  std::optional<JobState> attempt_state(std::int64_t job_id, int attempt);
  // pending -> cancelled at once; starting/running -> cancel_requested.
  // A finished job: conflict. Returns the job afterwards.
  // `by` is recorded as who asked (see Job::cancelled_by_*).
  Job request_cancel(std::int64_t job_id, const CancelledBy& by = {});

  std::optional<CapturedLog> get_log(std::int64_t job_id, int attempt, LogStream stream);

  // Per application: running, pending, failures since `since_ns`, oldest pending.
  std::vector<AppSummary> app_summaries(std::int64_t since_ns);
  // Jobs that ended at or after `since_ns` (of one application, and of one
  // schedule (its owner's uid and its name), if given).
  std::vector<EndedJob> ended_jobs(
      std::int64_t since_ns, const std::optional<std::string>& app,
      const std::optional<std::pair<std::int64_t, std::string>>& schedule = std::nullopt);
  // Counts of attempts per application (launches, for metrics).
  std::map<std::string, std::int64_t> attempts_by_app();
  // Deletes up to `limit` jobs that ended before `before_ns`, with their
  // attempts, output and webhook calls; returns how many. In one transaction.
  std::int64_t prune(std::int64_t before_ns, int limit);
  // How many jobs ended before `before_ns` (prune --dry-run).
  std::int64_t count_prunable(std::int64_t before_ns);

  // Schedules (model/schedule.hpp). Names are unique per owner; the caller
  // checks the cron, zone and job (`job`, the template each slot enqueues,
  // as `tmpl` records it). Conflict when the owner has a schedule of that
  // name, or already `max_per_owner` of them (0: no limit); not_found
  // without its application or its after_schedule (of the same owner);
  // invalid when after_schedule would close a cycle.
  Schedule create_schedule(const Schedule& s, const NewJob& tmpl, int max_per_owner);
  // Replaces a schedule's definition (name and owner stay); its slots from
  // now on follow it. `tmpl`: the job's template, when it changes.
  Schedule update_schedule(const Schedule& s, const std::optional<NewJob>& tmpl);
  std::optional<Schedule> get_schedule(std::int64_t owner_uid, const std::string& name);
  std::optional<Schedule> get_schedule_by_id(std::int64_t id);
  // One owner's (or, nullopt, everyone's), by owner and name.
  std::vector<Schedule> list_schedules(std::optional<std::int64_t> owner_uid);
  // Paused: no slot is decided. Resumed: the slots that passed meanwhile
  // follow its catch-up policy (away_before = now_s).
  Schedule set_schedule_paused(std::int64_t id, bool paused, std::int64_t now_s);
  // The schedule and its slots' records go; its jobs stay.
  void delete_schedule(std::int64_t id);
  // Newest first, at most `limit` (missed runs of slots are one record).
  std::vector<SlotRecord> schedule_slots(std::int64_t id, int limit);
  // Commits each advance in order, in one transaction (each on its own: one
  // that fails leaves the others): each fired slot's job is enqueued as the
  // owner would, keyed by schedule and slot, with the schedule moved past
  // it, so a slot is decided exactly once. A slot whose job cannot be
  // enqueued (its application is gone), that overlap forbids, or whose
  // after_schedule slot was not fired, is recorded skipped with why.
  FireOutcome fire_slots(const std::vector<ScheduleAdvance>& advances);
  // `schedule run`: the job of an extra slot, now (no overlap rule or
  // dependency on other slots). Conflict when one was made this very second.
  Job run_schedule_now(std::int64_t id, std::int64_t now_s);

  // The webhook outbox. Due: pending calls whose time has come, oldest first.
  std::vector<Delivery> due_deliveries(std::int64_t now_ns, int limit);
  std::optional<std::int64_t> next_delivery_ns();
  void delivery_succeeded(std::int64_t id);
  // Not due again before `until_ns` (a call in flight; if jobqd dies during
  // it, the call is made again after that: at least once).
  void lease_delivery(std::int64_t id, std::int64_t until_ns);
  // Tries again at `retry_at_ns`, or gives up (kept as failed) when nullopt.
  void delivery_failed(std::int64_t id, const std::string& error,
                       std::optional<std::int64_t> retry_at_ns);

 private:
  void migrate();
  void write_app_locked(const App& app);
  bool app_exists_locked(const std::string& name);
  // "no application named 'X'", with the nearest existing name if one is close.
  StoreError no_such_app_locked(const std::string& name);
  Job load_job_locked(std::int64_t id);
  // `load`: return the whole job (else only its id is set).
  Job enqueue_locked(const NewJob& job, bool* existed, bool load);
  std::vector<Attempt> load_attempts_locked(std::int64_t job_id);
  void load_deps_locked(Job& job);
  // A job reached a final state: its dependents move on (or are skipped, in
  // turn), and its application's webhooks are queued. Same transaction.
  void job_ended_locked(std::int64_t job_id);
  void queue_webhooks_locked(std::int64_t job_id, const std::string& event);
  // A schedule's slot missed or skipped: its application's webhooks that
  // ask for that event (slot-missed, slot-skipped).
  void queue_slot_webhooks_locked(const Schedule& s, const SlotDecision& d,
                                  const std::string& event);
  // pending -> cancelled (and job_ended_locked); starting/running ->
  // cancel_requested. Returns the state after; conflict when it had ended.
  JobState request_cancel_locked(std::int64_t job_id, const CancelledBy& by);
  std::optional<Schedule> read_schedule_locked(const char* where, std::int64_t a,
                                               const std::string* b);
  // --after-schedule names one of the owner's schedules, and no cycle.
  void check_after_schedule_locked(const Schedule& s);
  // Its definition (and its job's template, when given).
  void write_schedule_locked(std::int64_t id, const Schedule& s, const std::optional<NewJob>& tmpl);
  void fire_one_locked(const ScheduleAdvance& adv, FireOutcome& out);
  // Why the job's application refuses it now (its timeout or resources ask
  // for more than the application allows); "" when it does not.
  std::string app_refuses_locked(const NewJob& nj);
  void record_slot_locked(std::int64_t schedule_id, const SlotDecision& d, bool manual,
                          SlotOutcome outcome, std::optional<std::int64_t> job_id);

  std::mutex mu_;
  sqlite3* db_ = nullptr;
  std::string instance_;
  // Fair share: when each application last had a job claimed (a counter).
  // Kept in memory: fairness needs no durability.
  ServiceOrder served_;
  std::mt19937_64 rng_{std::random_device{}()};  // retry jitter
  // Prepared statements of every query but the migration's (sqlite_util.hpp).
  std::unique_ptr<sql::StmtCache> statements_;
};

}  // namespace jobq
