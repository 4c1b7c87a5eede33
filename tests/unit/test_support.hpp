// Small helpers shared by the unit tests: a temporary directory that cleans
// up after itself, and a bounded wait for work done on other threads.
#pragma once

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <stdexcept>
#include <string>
#include <thread>

#include "runtime/docker/docker_runtime.hpp"
#include "runtime/runtime.hpp"
#include "store/store.hpp"

namespace jobq::test {

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "jobq-unit-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// Polls `done` until it is true or `limit` passes; returns its last value.
// What schemas 9 (attempts as runs of a runtime), 10 (an application's
// runtime and placement; nodes' ids, unknown OOM kills, runs waiting for a
// node), 11 (warm pools and runs) and 12 (schedules) added, undone: a
// database as schema 8 left it.
inline const std::string kUndoSchema9 =
    "DROP TABLE schedule_slots; DROP TABLE schedules; DROP INDEX jobs_by_schedule;"
    "ALTER TABLE jobs DROP COLUMN schedule; ALTER TABLE jobs DROP COLUMN slot;"
    "ALTER TABLE apps DROP COLUMN warm; ALTER TABLE attempts DROP COLUMN warm_started_at;"
    "ALTER TABLE apps DROP COLUMN runtime; ALTER TABLE apps DROP COLUMN placement;"
    "ALTER TABLE attempts DROP COLUMN node_id; ALTER TABLE attempts DROP COLUMN oom_known;"
    "ALTER TABLE attempts DROP COLUMN waiting;"
    "ALTER TABLE attempts DROP COLUMN runtime; ALTER TABLE attempts DROP COLUMN run_id;"
    "ALTER TABLE attempts DROP COLUMN node; ALTER TABLE attempts DROP COLUMN times_from;";

// How jobqd's Docker runtime names the runs of this store's claims (of
// any runtime: the store only keeps the names it is given).
inline RunNaming naming(Store& store) {
  return [instance = store.instance()](const std::string&, std::int64_t job_id, int attempt) {
    return container_name_for(instance, job_id, attempt);
  };
}

// A running run with this id (its container's too), as a runtime reports it.
inline RunStatus run_with_id(const std::string& id, const std::string& started_at = "") {
  RunStatus st;
  st.phase = RunPhase::running;
  st.id = id;
  st.container_id = id;
  st.started_at = started_at;
  return st;
}

// The run key of a claimed attempt.
inline RunKey key_of(const LaunchTicket& t) {
  return {t.job_id, t.attempt, t.app};
}

inline bool wait_until(const std::function<bool()>& done,
                       std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return done();
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

// An application named `name` on image "img" (or img-<name>), as an admin
// would create it.
inline void make_app(Store& store, const std::string& name, int max_running = 0, EnvMap env = {},
                     const std::string& image = "img") {
  App a;
  a.name = name;
  a.image = image;
  a.max_running = max_running;
  a.env = std::move(env);
  store.create_app(a);
}

}  // namespace jobq::test
