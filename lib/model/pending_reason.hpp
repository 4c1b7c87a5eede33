// Why a pending job has not started yet, as jobqd sees it when it answers
// (show, list): the first of these that holds, in this order:
//
//   held          jobq hold; nothing starts it but jobq release
//   paused        its application is paused (jobq app resume)
//   dependencies  jobs it waits for have not ended ("jobs": their ids)
//   retry_backoff a failed attempt is retried at "at" (and "at_ns")
//   not_before    enqueued with --at/--in: not before "at" (and "at_ns")
//   image_pull    its application's image is being pulled ("image")
//   app_limit     its application runs "running" of its "max" jobs
//   daemon_limit  jobqd runs "running" of its --max-running ("max")
//   queued        nothing holds it back: behind jobs of higher priority
//                 or older ones, or about to be launched
//   placement     (a running job whose run has not started) its runtime's
//                 scheduler has no node for it yet ("message": its words)
//
// As JSON: {"kind": ..., "text": a sentence for people (times in UTC),
// details as above}; null for a job that is not pending (or placed). Pure: the caller
// gathers the load once per answer (Store::app_loads: two queries for a
// whole page, however many jobs it holds), so the reason costs no query per
// job.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "model/model.hpp"

namespace jobq {

// One application as the scheduler sees it now.
struct AppLoad {
  std::string image;
  bool paused = false;
  int max_running = 0;       // 0 = unlimited
  std::int64_t running = 0;  // starting or running
};

struct PendingContext {
  std::map<std::string, AppLoad> apps;
  std::int64_t running_total = 0;
  int global_max = 0;  // 0 = unlimited
  std::int64_t now_ns = 0;
  // Images being pulled now. Empty until the engine side reports pulls: the
  // image_pull kind is then filled in from here, with no other change.
  std::set<std::string> pulling_images;
};

PendingContext make_pending_context(std::map<std::string, AppLoad> apps, int global_max,
                                    std::int64_t now_ns);

nlohmann::json pending_reason(const Job& job, const PendingContext& ctx);

}  // namespace jobq
