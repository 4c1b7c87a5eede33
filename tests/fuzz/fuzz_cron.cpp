// libFuzzer target: schedule/cron's parser on any text. It must either
// throw CronError or give an expression whose next match, when there is
// one, is a match at or after the time asked from.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "schedule/cron.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  jobq::CronExpr e;
  try {
    e = jobq::parse_cron(text);
  } catch (const jobq::CronError&) {
    return 0;
  }
  const cctz::civil_second from(2026, 2, 28, 23, 59, 59);
  const auto next = jobq::next_cron_match(e, from);
  if (next && (*next < from || !jobq::cron_matches(e, *next))) std::abort();
  return 0;
}
