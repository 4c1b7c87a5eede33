#include "model/schedule.hpp"

#include <cctype>

#include "base/time_util.hpp"

namespace jobq {

namespace {
nlohmann::json slot_time(std::int64_t s) {
  return s > 0 ? nlohmann::json(format_unix_s(s)) : nlohmann::json(nullptr);
}
nlohmann::json text_or_null(const std::string& s) {
  return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
}
nlohmann::json maybe(const std::optional<std::int64_t>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}
}  // namespace

std::string_view to_string(Overlap o) {
  switch (o) {
    case Overlap::allow:
      return "allow";
    case Overlap::forbid:
      return "forbid";
    case Overlap::replace:
      return "replace";
  }
  return "allow";
}

std::optional<Overlap> overlap_from(std::string_view s) {
  for (const Overlap o : {Overlap::allow, Overlap::forbid, Overlap::replace})
    if (s == to_string(o)) return o;
  return std::nullopt;
}

std::string_view to_string(SlotOutcome o) {
  switch (o) {
    case SlotOutcome::fired:
      return "fired";
    case SlotOutcome::skipped:
      return "skipped";
    case SlotOutcome::missed:
      return "missed";
  }
  return "fired";
}

bool valid_schedule_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  if (!std::isalnum(static_cast<unsigned char>(s[0]))) return false;
  for (const char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.'))
      return false;
  return true;
}

void to_json(nlohmann::json& j, const Schedule& s) {
  j = nlohmann::json{
      {"id", s.id},
      {"name", s.name},
      {"owner", {{"uid", s.owner_uid}, {"user", s.owner_name}}},
      {"app", s.app},
      {"cron", s.cron},
      {"tz", s.tz.empty() ? std::string("UTC") : s.tz},
      {"job", s.job},
      {"catch_up", s.catch_up},
      {"catch_up_max", s.catch_up_max},
      {"starting_deadline_s",
       s.deadline_s > 0 ? nlohmann::json(s.deadline_s) : nlohmann::json(nullptr)},
      {"overlap", to_string(s.overlap)},
      {"after_previous", s.after_previous},
      {"after_schedule", text_or_null(s.after_schedule)},
      {"paused", s.paused},
      {"next_slot", slot_time(s.next_slot)},
      {"last_slot", slot_time(s.last_slot)},
      {"slots", {{"fired", s.fired}, {"skipped", s.skipped}, {"missed", s.missed}}},
      {"last_success_job", maybe(s.last_success_job)},
      {"last_failure_job", maybe(s.last_failure_job)},
      {"created_at", s.created_at},
      {"updated_at", s.updated_at},
  };
}

void to_json(nlohmann::json& j, const SlotRecord& r) {
  j = nlohmann::json{
      {"slot", slot_time(r.slot)},
      {"last_slot", slot_time(r.last_slot)},
      {"count", r.count},
      {"manual", r.manual},
      {"outcome", to_string(r.outcome)},
      {"job", maybe(r.job_id)},
      {"job_state", text_or_null(r.job_state)},
      {"reason", text_or_null(r.reason)},
      {"decided_at", r.decided_at},
  };
}

}  // namespace jobq
