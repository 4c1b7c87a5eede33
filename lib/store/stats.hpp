// `jobq stats`: what ended jobs say about an application, per application:
// counts by end state, and the spread (p50, p95, max) of how long jobs ran
// (Docker's StartedAt to FinishedAt, last attempt) and how long they waited
// in the queue (enqueued to the first attempt's StartedAt).
#pragma once

#include <vector>

#include <nlohmann/json.hpp>

#include "store/store.hpp"

namespace jobq {

// {"apps": [{"app", "ended", "states": {state: n}, "duration_ms": {p50, p95,
// max} | null, "queue_wait_ms": {...} | null}]}, ordered by application.
nlohmann::json summarize_ended(const std::vector<EndedJob>& jobs);

// Nearest-rank percentile (0 < p <= 100) of sorted values.
std::int64_t percentile(const std::vector<std::int64_t>& sorted, double p);

}  // namespace jobq
