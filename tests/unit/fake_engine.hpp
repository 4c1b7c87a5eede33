// FakeEngine: an in-memory, thread-safe jobq::ContainerEngine for unit tests.
//
// It behaves like dockerd where jobq relies on it: create() of a name that is
// taken throws EngineError kind conflict (Docker's 409); start() moves
// created -> running (an exited container runs again, as with `docker start`);
// stop() of a running container exits it with stop_exit_code (143 = SIGTERM);
// start of a running one, stop of a stopped one and remove of a missing one
// succeed; inspect() of a missing container is nullopt. Times are fake but
// shaped like Docker's: RFC 3339 in UTC with trailing zeros of the nanoseconds
// trimmed ("2026-11-21T00:00:07.8577215Z"), from a counter, so every event
// has a distinct, increasing time.
//
// Images: by default it has every image (as before images mattered). After
// track_images(), only those given to add_image() or pulled: create() of
// another throws not_found "No such image: ...", as dockerd's 404 does.
// pull() streams a few progress lines, then adds the image; it can be held
// (hold_pulls(): it waits until release_pulls() or keep_going() is false)
// or made to fail with Docker's message (fail_pull_with()). pulls_of()
// counts pulls per image, last_pull_auth() is the last X-Registry-Auth.
//
// Test controls: exit(), vanish(), set_logs(), set_unreachable(),
// fail_create_with(), fail_start_with(), fail_next_starts(), set_remove_hook(),
// set_start_hook(), set_inspect_hook(), set_boot_time(), use_real_clock()
// (times from the system clock instead of the counter); and counters.
// stream_logs() follows: it delivers what set_logs()/append_logs() gave, then
// what append_logs() adds, until the container is not running (or is gone)
// or keep_going() is false; it ignores since, tail and timestamps (the last
// options are kept: last_log_options()).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "runtime/docker/container_engine.hpp"
#include "runtime/docker/docker_json.hpp"

namespace jobq::test {

class FakeEngine final : public ContainerEngine {
 public:
  static constexpr const char* kZeroTime = "0001-01-01T00:00:00Z";

  // ---- Engine ---------------------------------------------------------------
  std::string api_version() override {
    std::lock_guard lock(mu_);
    check_reachable();
    return "1.43";
  }

  std::string create(const RunSpec& spec) override {
    std::lock_guard lock(mu_);
    check_reachable();
    ++create_calls_;
    if (create_failure_) throw *create_failure_;
    if (tracking_images_ && !images_.count(spec.image))
      throw EngineError(
          EngineError::Kind::not_found, 404,
          "create " + spec.name + ": engine answered 404: No such image: " + spec.image);
    if (find(spec.name))
      throw EngineError(EngineError::Kind::conflict, 409,
                        "Conflict. The container name \"/" + spec.name + "\" is already in use");
    Box b;
    b.state.id = make_id(++next_id_);
    b.state.status = "created";
    b.state.started_at = kZeroTime;
    b.state.finished_at = kZeroTime;
    b.state.labels = spec.labels;
    b.spec = spec;
    boxes_.emplace(spec.name, std::move(b));
    ++creates_;
    return boxes_.at(spec.name).state.id;
  }

  std::string create_with(const RunSpec& spec, const ContainerExtras& extras) override {
    const std::string id = create(spec);
    std::lock_guard lock(mu_);
    extras_[spec.name] = extras;
    return id;
  }

  // Renames by exact name or id: a missing one is 404, a taken name 409.
  void rename(const std::string& id_or_name, const std::string& new_name) override {
    std::lock_guard lock(mu_);
    check_reachable();
    ++rename_calls_;
    Box* b = find(id_or_name);
    if (!b)
      throw EngineError(EngineError::Kind::not_found, 404, "No such container: " + id_or_name);
    if (boxes_.count(new_name))
      throw EngineError(EngineError::Kind::conflict, 409, "name " + new_name + " is in use");
    auto node = boxes_.extract(b->spec.name);
    node.key() = new_name;
    node.mapped().spec.name = new_name;
    boxes_.insert(std::move(node));
  }

  void update_limits(const std::string& id_or_name, const Resources& r) override {
    std::lock_guard lock(mu_);
    check_reachable();
    ++update_calls_;
    Box* b = find(id_or_name);
    if (!b)
      throw EngineError(EngineError::Kind::not_found, 404, "No such container: " + id_or_name);
    if (r.memory_bytes > 0) b->spec.resources.memory_bytes = r.memory_bytes;
    if (r.nano_cpus > 0) b->spec.resources.nano_cpus = r.nano_cpus;
    if (r.pids_limit > 0) b->spec.resources.pids_limit = r.pids_limit;
  }

  ImageCommand image_command(const std::string&) override {
    std::lock_guard lock(mu_);
    check_reachable();
    return image_command_;
  }

  void start(const std::string& id_or_name) override {
    start_now(id_or_name);
    std::function<void(const std::string&)> hook;
    {
      std::lock_guard lock(mu_);
      hook = start_hook_;
    }
    if (hook) hook(id_or_name);  // outside the lock: it may call back into the engine
  }
  void start_now(const std::string& id_or_name) {  // start() without the hook
    std::lock_guard lock(mu_);
    check_reachable();
    ++start_calls_;
    Box* b = find(id_or_name);
    if (!b)
      throw EngineError(EngineError::Kind::not_found, 404, "No such container: " + id_or_name);
    if (b->state.running) return;  // 304 Not Modified
    if (failing_starts_ > 0) {
      --failing_starts_;
      b->state.exit_code = failing_start_code_;
      b->state.error = failing_start_error_;
      throw EngineError(failing_start_kind_,
                        failing_start_kind_ == EngineError::Kind::server ? 500 : 400,
                        failing_start_error_);
    }
    if (start_failure_) {
      b->state.exit_code = 127;
      b->state.error = *start_failure_;
      throw EngineError(EngineError::Kind::rejected, 400, *start_failure_);
    }
    b->state.status = "running";
    b->state.running = true;
    b->state.exit_code = 0;
    b->state.oom_killed = false;
    b->state.error.clear();
    b->state.started_at = next_time();
    b->state.finished_at = kZeroTime;
    ++starts_;
    note_running();
  }

  std::optional<ContainerState> inspect(const std::string& id_or_name) override {
    std::function<void(const std::string&)> hook;
    {
      std::lock_guard lock(mu_);
      hook = inspect_hook_;
    }
    if (hook) hook(id_or_name);  // before the answer, outside the lock
    std::lock_guard lock(mu_);
    check_reachable();
    ++inspect_calls_;
    const Box* b = find(id_or_name);
    if (!b) return std::nullopt;
    return b->state;
  }

  void stop(const std::string& id_or_name, int grace_seconds) override {
    std::lock_guard lock(mu_);
    check_reachable();
    ++stop_calls_;
    last_stop_grace_ = grace_seconds;
    Box* b = find(id_or_name);
    if (!b || !b->state.running) return;  // 404 / 304: success for jobq
    finish_locked(*b, stop_exit_code_, false);
  }

  void logs(const std::string& id_or_name, const LogChunkFn& sink) override {
    std::string out, err;
    {
      std::lock_guard lock(mu_);
      check_reachable();
      const Box* b = find(id_or_name);
      if (!b)
        throw EngineError(EngineError::Kind::not_found, 404, "No such container: " + id_or_name);
      auto it = logs_.find(b->spec.name);
      if (it != logs_.end()) std::tie(out, err) = it->second;
    }
    // Interleaved chunks, as a demultiplexed Docker stream would deliver them.
    std::size_t o = 0, e = 0;
    while (o < out.size() || e < err.size()) {
      if (o < out.size()) {
        const std::size_t n = std::min(chunk_, out.size() - o);
        sink(LogStream::stdout_stream, std::string_view(out).substr(o, n));
        o += n;
      }
      if (e < err.size()) {
        const std::size_t n = std::min(chunk_, err.size() - e);
        sink(LogStream::stderr_stream, std::string_view(err).substr(e, n));
        e += n;
      }
    }
  }

  void remove(const std::string& id_or_name) override {
    std::function<void(const std::string&)> hook;
    {
      std::lock_guard lock(mu_);
      check_reachable();
      ++remove_calls_;
      hook = remove_hook_;
    }
    if (hook) hook(id_or_name);  // outside the lock: it may call back into the engine
    std::lock_guard lock(mu_);
    Box* b = find(id_or_name);
    if (!b) return;  // 404: success for jobq
    ++removes_;
    const bool was_running = b->state.running;
    boxes_.erase(b->spec.name);
    if (was_running) note_running();
  }

  std::vector<ContainerSummary> list(const std::string& key, const std::string& value) override {
    std::lock_guard lock(mu_);
    check_reachable();
    std::vector<ContainerSummary> out;
    for (const auto& [name, b] : boxes_) {
      auto it = b.spec.labels.find(key);
      if (it == b.spec.labels.end() || it->second != value) continue;
      out.push_back({b.state.id, name, b.state.status, b.spec.labels});
    }
    return out;
  }

  void stream_logs(const std::string& id_or_name, const LogOptions& opts, const LogChunkFn& sink,
                   const std::function<bool()>& keep_going) override {
    {
      std::lock_guard lock(mu_);
      ++stream_logs_calls_;
      last_log_options_ = opts;
    }
    if (!opts.follow) return logs(id_or_name, sink);
    std::size_t o = 0, e = 0;  // bytes of each stream delivered
    for (bool first = true;; first = false) {
      std::string out, err;
      bool running = false;
      std::size_t chunk = 1;
      {
        std::lock_guard lock(mu_);
        check_reachable();
        const Box* b = find(id_or_name);
        if (!b) {
          if (first)
            throw EngineError(EngineError::Kind::not_found, 404,
                              "No such container: " + id_or_name);
          return;  // removed while followed: the engine ends the stream
        }
        running = b->state.running;
        chunk = chunk_;
        if (auto it = logs_.find(b->spec.name); it != logs_.end()) {
          out = it->second.first.substr(std::min(o, it->second.first.size()));
          err = it->second.second.substr(std::min(e, it->second.second.size()));
        }
        o += out.size();
        e += err.size();
      }
      for (std::size_t i = 0; i < out.size(); i += chunk)
        sink(LogStream::stdout_stream, std::string_view(out).substr(i, chunk));
      for (std::size_t i = 0; i < err.size(); i += chunk)
        sink(LogStream::stderr_stream, std::string_view(err).substr(i, chunk));
      if (!running) return;  // all it wrote was in this last look
      if (keep_going && !keep_going()) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }

  // An event stream that stays open and tells of nothing (the poller's
  // rounds find every end): until keep_going() is false, or throws while
  // the engine is unreachable.
  void watch_deaths(const std::string&, const std::function<bool()>& keep_going, const DeathEvent&,
                    const SignalEvent&) override {
    while (keep_going()) {
      {
        std::lock_guard lock(mu_);
        check_reachable();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  bool has_image(const std::string& image) override {
    std::lock_guard lock(mu_);
    check_reachable();
    ++has_image_calls_;
    return !tracking_images_ || images_.count(image) > 0;
  }

  void pull(const std::string& image, const std::string& registry_auth,
            const PullProgressFn& progress, const std::function<bool()>& keep_going) override {
    std::optional<std::string> failure;
    {
      std::unique_lock lock(mu_);
      check_reachable();
      ++pulls_[image];
      ++pulls_now_;
      max_pulls_at_once_ = std::max(max_pulls_at_once_, pulls_now_);
      last_pull_auth_ = registry_auth;
      if (auto it = pull_failures_.find(image); it != pull_failures_.end()) failure = it->second;
    }
    struct Done {
      FakeEngine* e;
      ~Done() {
        std::lock_guard lock(e->mu_);
        --e->pulls_now_;
      }
    } done{this};
    if (progress) {
      progress({"", "Pulling from " + image, 0, 0});
      progress({"0123456789ab", "Pulling fs layer", 0, 0});
      progress({"0123456789ab", "Downloading", 512, 1024});
    }
    for (;;) {
      {
        std::lock_guard lock(mu_);
        if (!pulls_held_) break;
      }
      if (keep_going && !keep_going())
        throw EngineError(EngineError::Kind::unreachable, 0, "pull " + image + ": stopped");
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    if (failure)
      throw EngineError(EngineError::Kind::rejected, 200, "pull " + image + ": " + *failure);
    if (progress) progress({"0123456789ab", "Pull complete", 0, 0});
    std::lock_guard lock(mu_);
    images_.insert(image);
  }

  // ---- test controls ---------------------------------------------------------
  void track_images() {
    std::lock_guard lock(mu_);
    tracking_images_ = true;
  }
  void add_image(const std::string& image) {
    std::lock_guard lock(mu_);
    images_.insert(image);
  }
  void remove_image(const std::string& image) {
    std::lock_guard lock(mu_);
    images_.erase(image);
  }
  void hold_pulls(bool hold) {
    std::lock_guard lock(mu_);
    pulls_held_ = hold;
  }
  void release_pulls() { hold_pulls(false); }
  // nullopt: pulls of the image succeed again.
  void fail_pull_with(const std::string& image, std::optional<std::string> message) {
    std::lock_guard lock(mu_);
    if (message)
      pull_failures_[image] = *message;
    else
      pull_failures_.erase(image);
  }
  int pulls_of(const std::string& image) {
    std::lock_guard lock(mu_);
    auto it = pulls_.find(image);
    return it == pulls_.end() ? 0 : it->second;
  }
  int pulls_now() { return get(pulls_now_); }
  int max_pulls_at_once() { return get(max_pulls_at_once_); }
  int has_image_calls() { return get(has_image_calls_); }
  std::string last_pull_auth() {
    std::lock_guard lock(mu_);
    return last_pull_auth_;
  }
  // The container's process ends with `code` (and OOMKilled when `oom`).
  void exit(const std::string& name, int code, bool oom = false) {
    std::lock_guard lock(mu_);
    Box* b = find(name);
    if (!b || !b->state.running) return;
    finish_locked(*b, code, oom);
  }
  // Removed behind jobq's back (docker rm -f).
  void vanish(const std::string& name) {
    std::lock_guard lock(mu_);
    Box* b = find(name);
    if (!b) return;
    const bool was_running = b->state.running;
    boxes_.erase(b->spec.name);
    if (was_running) note_running();
  }
  void set_logs(const std::string& name, std::string out, std::string err) {
    std::lock_guard lock(mu_);
    logs_[name] = {std::move(out), std::move(err)};
  }
  // More output from a (running) container, seen by a following stream_logs().
  void append_logs(const std::string& name, std::string_view out, std::string_view err = {}) {
    std::lock_guard lock(mu_);
    auto& [o, e] = logs_[name];
    o.append(out);
    e.append(err);
  }
  void set_log_chunk(std::size_t n) {
    std::lock_guard lock(mu_);
    chunk_ = n == 0 ? 1 : n;
  }
  void set_unreachable(bool down) {
    std::lock_guard lock(mu_);
    unreachable_ = down;
  }
  void fail_create_with(std::optional<EngineError> e) {
    std::lock_guard lock(mu_);
    create_failure_ = std::move(e);
  }
  // start() fails like an image whose command does not exist: State.Error is
  // set, ExitCode 127, the container stays `created`.
  void fail_start_with(std::optional<std::string> error) {
    std::lock_guard lock(mu_);
    start_failure_ = std::move(error);
  }
  // The next n starts fail as the engine's own trouble does (Docker's 5xx,
  // exit code 128: "task ...: already exists" after dockerd died during a
  // start); the container stays `created` with State.Error set.
  void fail_next_starts(int n, std::string error,
                        EngineError::Kind kind = EngineError::Kind::server, int exit_code = 128) {
    std::lock_guard lock(mu_);
    failing_starts_ = n;
    failing_start_error_ = std::move(error);
    failing_start_kind_ = kind;
    failing_start_code_ = exit_code;
  }
  void set_boot_time(std::optional<std::int64_t> ns) {
    std::lock_guard lock(mu_);
    boot_ns_ = ns;
  }
  void use_real_clock(bool on) {
    std::lock_guard lock(mu_);
    real_clock_ = on;
  }
  std::optional<std::int64_t> boot_time_ns() override {
    std::lock_guard lock(mu_);
    return boot_ns_;
  }
  void set_stop_exit_code(int code) {
    std::lock_guard lock(mu_);
    stop_exit_code_ = code;
  }
  void set_remove_hook(std::function<void(const std::string&)> hook) {
    std::lock_guard lock(mu_);
    remove_hook_ = std::move(hook);
  }
  // Runs when an inspect is asked for, before it is answered.
  void set_inspect_hook(std::function<void(const std::string&)> hook) {
    std::lock_guard lock(mu_);
    inspect_hook_ = std::move(hook);
  }
  // Runs after a successful start, before the start call returns.
  void set_start_hook(std::function<void(const std::string&)> hook) {
    std::lock_guard lock(mu_);
    start_hook_ = std::move(hook);
  }

  void set_image_command(ImageCommand c) {
    std::lock_guard lock(mu_);
    image_command_ = std::move(c);
  }

  // ---- observations ----------------------------------------------------------
  std::optional<ContainerExtras> extras_of(const std::string& name) {
    std::lock_guard lock(mu_);
    auto it = extras_.find(name);
    if (it == extras_.end()) return std::nullopt;
    return it->second;
  }
  int rename_calls() { return get(rename_calls_); }
  int update_calls() { return get(update_calls_); }
  bool exists(const std::string& name) {
    std::lock_guard lock(mu_);
    return find(name) != nullptr;
  }
  std::optional<ContainerState> state_of(const std::string& name) {
    std::lock_guard lock(mu_);
    const Box* b = find(name);
    if (!b) return std::nullopt;
    return b->state;
  }
  std::optional<RunSpec> spec_of(const std::string& name) {
    std::lock_guard lock(mu_);
    const Box* b = find(name);
    if (!b) return std::nullopt;
    return b->spec;
  }
  std::vector<std::string> running_names() {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& [name, b] : boxes_)
      if (b.state.running) out.push_back(name);
    return out;
  }
  std::vector<std::string> names() {
    std::lock_guard lock(mu_);
    std::vector<std::string> out;
    for (const auto& [name, b] : boxes_) out.push_back(name);
    return out;
  }
  int running_now() {
    std::lock_guard lock(mu_);
    return count_running(nullptr, nullptr);
  }
  int max_running_seen() {
    std::lock_guard lock(mu_);
    return max_running_;
  }
  // Highest number of running containers seen at once with label key=value.
  int max_running_seen_with_label(const std::string& key, const std::string& value) {
    std::lock_guard lock(mu_);
    auto it = max_by_label_.find(key + "=" + value);
    return it == max_by_label_.end() ? 0 : it->second;
  }
  int creates() { return get(creates_); }  // containers actually created
  int create_calls() { return get(create_calls_); }
  int starts() { return get(starts_); }  // created/exited -> running
  int start_calls() { return get(start_calls_); }
  int stops() { return get(stop_calls_); }
  int removes() { return get(removes_); }  // containers actually removed
  int remove_calls() { return get(remove_calls_); }
  int inspect_calls() { return get(inspect_calls_); }
  int last_stop_grace() { return get(last_stop_grace_); }
  int stream_logs_calls() { return get(stream_logs_calls_); }
  LogOptions last_log_options() {
    std::lock_guard lock(mu_);
    return last_log_options_;
  }

 private:
  struct Box {
    ContainerState state;
    RunSpec spec;
  };

  static std::string make_id(int n) {
    char buf[80];
    std::snprintf(buf, sizeof buf, "%064x", n);
    return buf;
  }
  // Docker's format: RFC 3339, UTC, nanoseconds with trailing zeros trimmed.
  std::string next_time() {
    ++clock_;
    if (real_clock_) {
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
      const std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
      std::tm tm{};
      gmtime_r(&secs, &tm);
      char buf[64];
      std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09lldZ", tm.tm_year + 1900,
                    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                    static_cast<long long>(ns % 1'000'000'000));
      return buf;
    }
    const int secs = clock_ % 60, mins = (clock_ / 60) % 60, hours = (clock_ / 3600) % 24;
    std::string frac = std::to_string(100'000'000 + (clock_ * 7'654'321) % 900'000'000);
    while (frac.size() > 1 && frac.back() == '0') frac.pop_back();
    char buf[64];
    std::snprintf(buf, sizeof buf, "2099-11-21T%02d:%02d:%02d.%sZ", hours, mins, secs,
                  frac.c_str());
    return buf;
  }
  void check_reachable() const {
    if (unreachable_)
      throw EngineError(EngineError::Kind::unreachable, 0,
                        "cannot reach the Docker engine: fake engine is down");
  }
  Box* find(const std::string& id_or_name) {
    auto it = boxes_.find(id_or_name);
    if (it != boxes_.end()) return &it->second;
    for (auto& [name, b] : boxes_)
      if (b.state.id == id_or_name) return &b;
    return nullptr;
  }
  void finish_locked(Box& b, int code, bool oom) {
    b.state.status = "exited";
    b.state.running = false;
    b.state.exit_code = code;
    b.state.oom_killed = oom;
    b.state.finished_at = next_time();
    note_running();
  }
  int count_running(const std::string* key, const std::string* value) const {
    int n = 0;
    for (const auto& [name, b] : boxes_) {
      if (!b.state.running) continue;
      if (key) {
        auto it = b.state.labels.find(*key);
        if (it == b.state.labels.end() || it->second != *value) continue;
      }
      ++n;
    }
    return n;
  }
  // Called at every change of running state: updates the high-water marks.
  void note_running() {
    max_running_ = std::max(max_running_, count_running(nullptr, nullptr));
    std::map<std::string, int> now;
    for (const auto& [name, b] : boxes_)
      if (b.state.running)
        for (const auto& [k, v] : b.state.labels) ++now[k + "=" + v];
    for (const auto& [kv, n] : now) max_by_label_[kv] = std::max(max_by_label_[kv], n);
  }
  int get(const int& counter) {
    std::lock_guard lock(mu_);
    return counter;
  }

  std::mutex mu_;
  std::map<std::string, Box> boxes_;                                 // by name
  std::map<std::string, std::pair<std::string, std::string>> logs_;  // name -> (stdout, stderr)
  std::size_t chunk_ = 7;
  bool unreachable_ = false;
  std::optional<EngineError> create_failure_;
  bool tracking_images_ = false;
  std::set<std::string> images_;
  bool pulls_held_ = false;
  std::map<std::string, std::string> pull_failures_;
  std::map<std::string, int> pulls_;
  int pulls_now_ = 0;
  int max_pulls_at_once_ = 0;
  int has_image_calls_ = 0;
  std::string last_pull_auth_;
  std::optional<std::string> start_failure_;
  int failing_starts_ = 0;
  std::string failing_start_error_;
  EngineError::Kind failing_start_kind_ = EngineError::Kind::server;
  int failing_start_code_ = 128;
  std::optional<std::int64_t> boot_ns_;
  bool real_clock_ = false;
  std::function<void(const std::string&)> remove_hook_;
  std::function<void(const std::string&)> start_hook_;
  std::function<void(const std::string&)> inspect_hook_;
  int stop_exit_code_ = 143;
  int next_id_ = 0;
  int clock_ = 0;
  int max_running_ = 0;
  std::map<std::string, int> max_by_label_;
  std::map<std::string, ContainerExtras> extras_;
  ImageCommand image_command_;
  int rename_calls_ = 0, update_calls_ = 0;
  int creates_ = 0, create_calls_ = 0, starts_ = 0, start_calls_ = 0, stop_calls_ = 0;
  int removes_ = 0, remove_calls_ = 0, inspect_calls_ = 0, last_stop_grace_ = -1;
  int stream_logs_calls_ = 0;
  LogOptions last_log_options_;
};

}  // namespace jobq::test
