#include "job_cells.hpp"

#include "base/time_util.hpp"

namespace jobq::render {

using nlohmann::json;

namespace {

std::int64_t integer(const json& record, const char* key, std::int64_t none = -1) {
  const auto it = record.find(key);
  return it != record.end() && it->is_number_integer() ? it->get<std::int64_t>() : none;
}

std::string text(const json& record, const char* key) {
  const auto it = record.find(key);
  return it != record.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string ids(const json& list) {
  std::string s;
  for (const auto& id : list) s += (s.empty() ? "" : ",") + id.dump();
  return s;
}

// "06:00:12 CET (in 3m2s)"; the date too when it is not within a day.
std::string when(std::int64_t at_ns, std::int64_t now_ns) {
  const std::int64_t ahead_ms = (at_ns - now_ns) / 1'000'000;
  const bool soon = ahead_ms < 86'400'000 && ahead_ms > -86'400'000;
  std::string s = format_local_ns(at_ns, soon);
  if (ahead_ms > 0) s += " (in " + duration_ms(ahead_ms - ahead_ms % 1000) + ")";
  return s;
}

const json& reason_of(const json& job) {
  static const json none;
  const auto it = job.find("pending_reason");
  if (it == job.end() || !it->is_object()) return none;
  const std::string state = text(job, "state");
  return state == "pending" || (state == "running" && text(*it, "kind") == "placement") ? *it
                                                                                        : none;
}

}  // namespace

std::string duration_ms(std::int64_t ms) {
  if (ms < 0) ms = 0;
  if (ms < 1000) return std::to_string(ms) + "ms";
  if (ms < 60'000)
    return std::to_string(ms / 1000) +
           (ms % 1000 >= 100 ? "." + std::to_string(ms % 1000 / 100) : "") + "s";
  const std::int64_t s = ms / 1000, d = s / 86400, h = s / 3600 % 24, m = s / 60 % 60;
  if (d > 0) return std::to_string(d) + "d" + std::to_string(h) + "h" + std::to_string(m) + "m";
  if (h > 0) return std::to_string(h) + "h" + std::to_string(m) + "m";
  return std::to_string(m) + "m" + std::to_string(s % 60) + "s";
}

std::string local_time(const json& record, const char* key) {
  return format_local(text(record, key));
}

std::string pending_short(const json& job) {
  const json& r = reason_of(job);
  if (r.is_null()) return "";
  const std::string kind = text(r, "kind");
  if (kind == "held" || kind == "paused") return kind;
  if (kind == "dependencies") return "after " + ids(r.value("jobs", json::array()));
  if (kind == "not_before") return "until " + format_local_ns(integer(r, "at_ns", 0), true);
  if (kind == "retry_backoff") return "retry at " + format_local_ns(integer(r, "at_ns", 0), true);
  if (kind == "app_limit")
    return "app " + std::to_string(integer(r, "running")) + "/" + std::to_string(integer(r, "max"));
  if (kind == "daemon_limit")
    return "jobqd " + std::to_string(integer(r, "running")) + "/" +
           std::to_string(integer(r, "max"));
  if (kind == "image_pull") return "pulling image";
  if (kind == "placement") return "no node yet";
  return "";  // queued, or a kind newer than this jobq
}

std::string pending_text(const json& job, std::int64_t now_ns) {
  const json& r = reason_of(job);
  if (r.is_null()) return "";
  const std::string kind = text(r, "kind");
  if (kind == "held")
    return "held: it starts only after 'jobq release " + job.value("id", json()).dump() + "'";
  if (kind == "paused") return "its application is paused (jobq app resume " + text(r, "app") + ")";
  if (kind == "dependencies") return "for jobs " + ids(r.value("jobs", json::array())) + " to end";
  if (kind == "not_before") return "until " + when(integer(r, "at_ns", 0), now_ns);
  if (kind == "retry_backoff")
    return "to retry (retry " + std::to_string(integer(r, "retry", 0)) + ") at " +
           when(integer(r, "at_ns", 0), now_ns);
  if (kind == "app_limit")
    return "for a slot: application " + text(r, "app") + " runs " +
           std::to_string(integer(r, "running")) + " of its " + std::to_string(integer(r, "max"));
  if (kind == "daemon_limit")
    return "for a slot: jobqd runs " + std::to_string(integer(r, "running")) + " of its " +
           std::to_string(integer(r, "max")) + " (--max-running)";
  if (kind == "image_pull") return "for its image to be pulled (" + text(r, "image") + ")";
  if (kind == "queued") return "for its turn: a slot is free, it starts soon";
  if (kind == "placement") return "for a node: " + text(r, "message");
  return text(r, "text");  // a kind newer than this jobq: the daemon's words
}

std::string state_cell(const json& job) {
  std::string s = text(job, "state");
  if (const std::string why = pending_short(job); !why.empty()) s += " (" + why + ")";
  return s;
}

std::string run_time(const json& job, std::int64_t now_ns) {
  if (const auto ran = integer(job, "run_ms"); ran >= 0) return duration_ms(ran);
  const auto started = integer(job, "started_ns");
  const std::string state = text(job, "state");
  if (started > 0 && (state == "running" || state == "starting"))
    return duration_ms((now_ns - started) / 1'000'000) + " so far";
  return "-";
}

std::string queue_time(const json& job, std::int64_t now_ns) {
  if (const auto queued = integer(job, "queue_ms"); queued >= 0) return duration_ms(queued);
  const auto created = integer(job, "created_ns");
  const std::string state = text(job, "state");
  if (created > 0 && (state == "pending" || state == "starting"))
    return duration_ms((now_ns - created) / 1'000'000) + " so far";
  return "-";
}

}  // namespace jobq::render
