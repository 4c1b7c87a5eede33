#include "base/log_filter.hpp"

#include <deque>
#include <vector>

#include "base/time_util.hpp"

namespace jobq {

std::string filter_log(std::string_view data, bool timestamped, const LogFilter& f) {
  if (!timestamped && f.tail < 0) return std::string(data);
  std::vector<std::string_view> lines;
  for (std::size_t pos = 0; pos < data.size();) {
    const auto nl = data.find('\n', pos);
    const auto end = nl == std::string_view::npos ? data.size() : nl + 1;
    lines.push_back(data.substr(pos, end - pos));
    pos = end;
  }
  std::deque<std::string_view> kept;
  for (auto line : lines) {
    if (timestamped) {
      const auto space = line.find(' ');
      const auto ts =
          space == std::string_view::npos ? std::nullopt : parse_rfc3339_ns(line.substr(0, space));
      if (ts) {
        if (*ts < f.since_ns) continue;
        if (!f.timestamps) line.remove_prefix(space + 1);
      } else if (f.since_ns > 0) {
        continue;  // of unknown time
      }
    }
    kept.push_back(line);
    if (f.tail >= 0 && kept.size() > static_cast<std::size_t>(f.tail)) kept.pop_front();
  }
  std::string out;
  for (auto line : kept) out += line;
  return out;
}

}  // namespace jobq
