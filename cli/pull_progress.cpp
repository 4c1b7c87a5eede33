#include "pull_progress.hpp"

#include <algorithm>
#include <cstdint>
#include <cstdio>

#include "render.hpp"

namespace jobq {

namespace {
// Docker's units: 1.2kB, 3.4MB (powers of 1000).
std::string bytes(std::int64_t n) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f%s" : "%.3g%s", v, units[u]);
  return buf;
}
}  // namespace

std::string pull_line_text(const std::string& status, std::int64_t current, std::int64_t total) {
  std::string text = status;
  if (total > 0 && current >= 0) {
    constexpr int kWidth = 30;
    const auto done = static_cast<int>(std::min<std::int64_t>(kWidth, current * kWidth / total));
    std::string bar(static_cast<std::size_t>(kWidth), ' ');
    for (int i = 0; i < done; ++i) bar[static_cast<std::size_t>(i)] = '=';
    if (done < kWidth) bar[static_cast<std::size_t>(done)] = '>';
    text += " [" + bar + "] " + bytes(current) + "/" + bytes(total);
  } else if (current > 0) {
    text += " " + bytes(current);
  }
  return text;
}

void PullProgressView::update(const nlohmann::json& pull) {
  if (!pull.is_object()) return;
  const std::string id = pull.value("id", "");
  const std::string status = pull.value("status", "");
  const auto num = [&](const char* key) -> std::int64_t {
    auto it = pull.find(key);
    return it != pull.end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
  };
  // Docker's "Pulling from REPO" carries the tag as its id: a line of its own.
  const bool layer = !id.empty() && status.rfind("Pulling from", 0) != 0;
  const std::string text =
      render::visible(layer ? id + ": " + pull_line_text(status, num("current"), num("total"))
                            : (id.empty() ? status : id + ": " + status));
  if (!terminal_) {
    if (layer) {
      auto& last = shown_status_[id];
      if (last == status) return;
      last = status;
    }
    out_ << text << '\n' << std::flush;
    return;
  }
  auto it = layer ? row_.find(id) : row_.end();
  if (it == row_.end()) {
    if (layer) row_[id] = lines_.size();
    lines_.push_back(layer ? id : "");
    out_ << text << '\n' << std::flush;
    return;
  }
  // Up to the layer's line, rewrite it, and back down.
  const std::size_t up = lines_.size() - it->second;
  out_ << "\x1b[" << up << "A\r\x1b[2K" << text << "\r\x1b[" << up << "B" << std::flush;
}

}  // namespace jobq
