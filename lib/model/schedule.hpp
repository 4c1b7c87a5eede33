// A schedule: a job made again at each slot of a cron expression, as its
// owner would enqueue it, and the record of each slot (fired, skipped or
// missed). Slot times are Unix seconds. The cron parsing and the slot
// arithmetic are lib/schedule's; this is the record and its JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace jobq {

// What a slot does while the previous slot's job has not ended.
enum class Overlap { allow, forbid, replace };
std::string_view to_string(Overlap o);
std::optional<Overlap> overlap_from(std::string_view s);

// Names: as an application's (letters, digits, '_', '.', '-'; 1 to 64), unique
// per owner.
bool valid_schedule_name(std::string_view s);

struct Schedule {
  std::int64_t id = 0;
  std::string name;
  std::int64_t owner_uid = -1;  // its jobs are this user's
  std::string owner_name;
  std::string app;
  std::string cron;
  std::string tz;                 // "" = UTC
  nlohmann::json job;             // the job each slot enqueues (enqueue's arguments but app)
  std::string catch_up = "last";  // none, last, all (schedule/plan.hpp)
  int catch_up_max = 10;
  std::int64_t deadline_s = 0;  // --starting-deadline; 0: none
  Overlap overlap = Overlap::allow;
  bool after_previous = false;  // a slot's job waits for the previous slot's to succeed
  std::string after_schedule;   // ... for the job of this schedule (same owner) covering its slot
  bool paused = false;
  std::int64_t next_slot = 0;    // the slot it waits for; 0: it fires no more
  std::int64_t last_slot = 0;    // the newest slot decided; 0: none yet
  std::int64_t away_before = 0;  // slots before this passed while paused (resumed then)
  std::int64_t fired = 0, skipped = 0, missed = 0;  // slots so far
  std::string created_at;
  std::string updated_at;
  // The last of its jobs to succeed, and to fail (failed, lost, timed out
  // or skipped), as they ended.
  std::optional<std::int64_t> last_success_job, last_failure_job;
};

enum class SlotOutcome { fired, skipped, missed };
std::string_view to_string(SlotOutcome o);

struct SlotRecord {
  std::int64_t slot = 0;       // the slot (the first of a run of missed ones)
  std::int64_t last_slot = 0;  // the last of a run of missed ones
  std::int64_t count = 1;      // how many slots the record stands for
  bool manual = false;         // `schedule run`: an extra slot, now
  SlotOutcome outcome = SlotOutcome::fired;
  std::optional<std::int64_t> job_id;
  std::string reason;
  std::string decided_at;  // daemon clock
  std::string job_state;   // its job's state, when read with it ("" if gone)
};

void to_json(nlohmann::json& j, const Schedule& s);
void to_json(nlohmann::json& j, const SlotRecord& r);

}  // namespace jobq
