#include "base/log_tail.hpp"

#include <algorithm>

namespace jobq {

void TailBuffer::append(std::string_view bytes) {
  total_ += bytes.size();
  if (bytes.size() >= cap_) {
    buf_.assign(bytes.substr(bytes.size() - cap_));
    return;
  }
  buf_.append(bytes);
  // Trim lazily: at most 2x the cap is held, each byte moved O(1) times.
  if (buf_.size() > 2 * cap_) buf_.erase(0, buf_.size() - cap_);
}

std::string TailBuffer::take() {
  if (buf_.size() > cap_) buf_.erase(0, buf_.size() - cap_);
  return std::move(buf_);
}

namespace {
// Length of a line's leading "<time> " (0 when it has none).
std::size_t timestamp_prefix(std::string_view line) {
  if (line.empty() || line[0] < '0' || line[0] > '9') return 0;
  const auto space = line.find(' ');
  return space == std::string_view::npos || space > 40 ? 0 : space + 1;
}
}  // namespace

void TimestampedTail::append(std::string_view bytes) {
  while (!bytes.empty()) {
    const auto nl = bytes.find('\n');
    const auto piece = bytes.substr(0, nl == std::string_view::npos ? bytes.size() : nl + 1);
    partial_.append(piece);
    bytes.remove_prefix(piece.size());
    if (nl != std::string_view::npos) {
      add_line(std::move(partial_));
      partial_.clear();
    } else if (partial_.size() > 2 * cap_ + 64) {
      // A very long line without an end yet: keep its timestamp and its tail.
      const auto prefix = timestamp_prefix(partial_);
      const auto drop = partial_.size() - prefix - cap_;
      total_ += drop;
      partial_.erase(prefix, drop);
    }
  }
}

void TimestampedTail::add_line(std::string text) {
  const auto prefix = timestamp_prefix(text);
  const auto content = text.size() - prefix;
  total_ += content;
  kept_ += content;
  lines_.push_back({std::move(text), prefix});
  trim();
}

void TimestampedTail::trim() {
  while (kept_ > cap_ && !lines_.empty()) {
    Line& front = lines_.front();
    const auto content = front.text.size() - front.prefix;
    if (kept_ - content >= cap_) {
      kept_ -= content;
      lines_.pop_front();
    } else {
      const auto cut = kept_ - cap_;
      front.text.erase(front.prefix, cut);
      kept_ -= cut;
    }
  }
}

std::uint64_t TimestampedTail::total_bytes() const {
  return total_ + partial_.size() - timestamp_prefix(partial_);
}

std::string TimestampedTail::take() {
  if (!partial_.empty()) {
    add_line(std::move(partial_));
    partial_.clear();
  }
  std::string out;
  for (auto& l : lines_) out += l.text;
  lines_.clear();
  kept_ = 0;
  return out;
}

}  // namespace jobq
