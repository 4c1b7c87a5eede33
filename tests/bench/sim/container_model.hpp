// The simulator's containers, in memory: their state (created, running,
// exited), output and lifecycle, the exits that the timer thread brings about
// (a started container "runs" for run_ms, or until stopped, then exits with
// exit_code), and the subscribers to their events, with Docker's filters.
// All of a State sits behind its one mutex `mu`: the functions marked "with
// s.mu held" expect the caller to hold it. Nothing here speaks HTTP.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace sim {

using json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

enum class Status { created, running, exited };

const char* status_name(Status s);

struct LogLine {
  std::int64_t ns;
  std::string text;  // ends with '\n'
};

struct Container {
  std::string id;
  std::string name;  // without the leading '/'
  std::string image;
  json config;  // the create body without HostConfig/NetworkingConfig
  json host_config;
  std::map<std::string, std::string> labels;
  Status status = Status::created;
  int exit_code = 0;
  int pid = 0;
  std::int64_t created_ns = 0;
  std::int64_t started_ns = 0;
  std::int64_t finished_ns = 0;
  std::uint64_t run = 0;  // bumped per start: a timer entry of an earlier run is stale
  bool removed = false;
  std::vector<LogLine> output;  // stdout
};
using ContainerPtr = std::shared_ptr<Container>;

// Docker's filters: key -> values.
using Filters = std::map<std::string, std::vector<std::string>>;

struct Subscriber {
  Filters filters;
  std::deque<std::string> queue;  // JSON lines not yet sent
  std::condition_variable cv;
};

struct PendingExit {
  SteadyClock::time_point when;
  std::string id;
  std::uint64_t run;
  bool operator>(const PendingExit& o) const { return when > o.when; }
};

struct State {
  long run_ms = 1000;  // how long a started container runs; -1: until stopped
  int exit_code = 0;   // the code it then exits with

  std::mutex mu;
  std::condition_variable changed;  // a container changed state (log followers wait on it)
  std::condition_variable timer_cv;
  std::unordered_map<std::string, ContainerPtr> by_id;
  std::unordered_map<std::string, ContainerPtr> by_name;
  std::priority_queue<PendingExit, std::vector<PendingExit>, std::greater<>> exits;
  std::vector<std::shared_ptr<Subscriber>> subscribers;
  std::mt19937_64 rng{std::random_device{}()};
  int next_pid = 1000;
};

// Docker's filter semantics: values of one key are alternatives (any), except
// labels, which must all match.
bool any_of_values(const Filters& f, const std::string& key,
                   const std::function<bool(const std::string&)>& pred);
bool labels_match(const Filters& f, const std::map<std::string, std::string>& labels);
// Accepts both {"k":["v",...]} and the old {"k":{"v":true}}; nullopt when malformed.
std::optional<Filters> parse_filters(const std::string& text);

// With s.mu held: a container event ("create", "start", "die", ...) to the
// subscribers whose filters it matches.
void publish(State& s, const Container& c, const std::string& action);
// With s.mu held: the container's process ends with `code` ("die").
void finish(State& s, Container& c, int code);
// With s.mu held: the container starts running ("start"); its exit is timed.
void begin_run(State& s, Container& c);
// The timer thread: ends each run when its time comes.
[[noreturn]] void timer_loop(State& s);

// With s.mu held: by full id, name, or unique id prefix; nullptr when none.
ContainerPtr lookup(State& s, const std::string& key);
// With s.mu held: 64 random hex digits.
std::string new_id(State& s);
// Docker's container names: [a-zA-Z0-9][a-zA-Z0-9_.-]+.
bool valid_name(const std::string& n);

}  // namespace sim
