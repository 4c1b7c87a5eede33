#include "model/job_state.hpp"

#include <array>
#include <utility>

namespace jobq {
namespace {
constexpr std::array<std::pair<JobState, std::string_view>, 9> kNames{{
    {JobState::pending, "pending"},
    {JobState::starting, "starting"},
    {JobState::running, "running"},
    {JobState::succeeded, "succeeded"},
    {JobState::failed, "failed"},
    {JobState::cancelled, "cancelled"},
    {JobState::lost, "lost"},
    {JobState::timed_out, "timed_out"},
    {JobState::skipped, "skipped"},
}};
}  // namespace

std::string_view to_string(JobState s) {
  for (const auto& [state, name] : kNames)
    if (state == s) return name;
  return "unknown";
}

std::optional<JobState> parse_job_state(std::string_view s) {
  for (const auto& [state, name] : kNames)
    if (name == s) return state;
  return std::nullopt;
}

bool is_final(JobState s) {
  return s != JobState::pending && s != JobState::starting && s != JobState::running;
}

bool holds_slot(JobState s) {
  return s == JobState::starting || s == JobState::running;
}

}  // namespace jobq
