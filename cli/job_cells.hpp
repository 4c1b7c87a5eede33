// A job's cells as human output shows them: its state with why it waits,
// its times in local time (TZ) with their zone, its run and queue times.
// One function a cell, so that `show`, `list`'s table and any column a
// --format names print them alike. Times are read from the numeric fields
// of the JSON (*_ns, run_ms, queue_ms); `now_ns` only for "ago" and "in".
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace jobq::render {

// 250 -> "250ms", 1200 -> "1.2s", 63'000 -> "1m3s", 7'500'000 -> "2h5m".
std::string duration_ms(std::int64_t ms);

// The RFC 3339 field `key` of a record in local time with its zone, or "-".
std::string local_time(const nlohmann::json& record, const char* key);

// Why a pending job waits, in a few words for a table cell ("held",
// "paused", "after 3,4", "until 06:00:00 CET", "retry at 06:00:12 CET",
// "app 2/2", "jobqd 8/8", "pulling image"); "" when it is not pending or
// nothing holds it back.
std::string pending_short(const nlohmann::json& job);
// ... and as a sentence, for `show`; "" when it is not pending.
std::string pending_text(const nlohmann::json& job, std::int64_t now_ns);

// The state, and for a pending job why: "pending (app 2/2)", "running".
std::string state_cell(const nlohmann::json& job);

// How long its last attempt ran ("1.2s"), or has run so far ("3m2s so
// far"); "-" before it started. A FinishedAt before StartedAt is 0 ms.
std::string run_time(const nlohmann::json& job, std::int64_t now_ns);
// From the enqueue to the first attempt's start ("3s"), or so far ("5m
// so far") for a job that has not started; "-" for one that never will.
std::string queue_time(const nlohmann::json& job, std::int64_t now_ns);

}  // namespace jobq::render
