#include "runtime/docker/log_demux.hpp"

#include <algorithm>

namespace jobq {

void LogDemuxer::emit(std::string_view bytes) {
  if (bytes.empty()) return;
  last_ = bytes.back();
  if (stream_ == 1 || stream_ == 2) sink_(static_cast<LogStream>(stream_), bytes);
}

void LogDemuxer::end_prefix(bool drop) {
  stripping_ = false;
  std::string kept;
  kept.swap(prefix_);
  if (!drop) emit(kept);
}

void LogDemuxer::feed(std::string_view bytes) {
  while (!bytes.empty()) {
    if (remaining_ == 0) {
      const std::size_t need = 8 - header_len_;
      const std::size_t n = std::min(need, bytes.size());
      std::copy_n(bytes.data(), n, header_ + header_len_);
      header_len_ += n;
      bytes.remove_prefix(n);
      if (header_len_ < 8) return;
      header_len_ = 0;
      stream_ = header_[0];
      remaining_ = (std::uint32_t{header_[4]} << 24) | (std::uint32_t{header_[5]} << 16) |
                   (std::uint32_t{header_[6]} << 8) | std::uint32_t{header_[7]};
      const bool known = stream_ == 1 || stream_ == 2;
      stripping_ = timestamps_ && known && mid_line_[stream_] && remaining_ > 0;
      last_ = '\n';
      continue;
    }
    std::size_t n = std::min<std::size_t>(remaining_, bytes.size());
    if (stripping_) {
      // Up to and including the first space: "<RFC 3339 time> ".
      const auto space = bytes.substr(0, n).find(' ');
      const std::size_t take = space == std::string_view::npos ? n : space + 1;
      prefix_.append(bytes.substr(0, take));
      bytes.remove_prefix(take);
      remaining_ -= static_cast<std::uint32_t>(take);
      if (space != std::string_view::npos) {
        end_prefix(prefix_.size() <= 41 && prefix_[0] >= '0' && prefix_[0] <= '9');
      } else if (prefix_.size() > 41 || remaining_ == 0) {
        end_prefix(false);  // not a timestamp after all
      }
    } else {
      emit(bytes.substr(0, n));
      remaining_ -= static_cast<std::uint32_t>(n);
      bytes.remove_prefix(n);
    }
    if (remaining_ == 0 && (stream_ == 1 || stream_ == 2)) mid_line_[stream_] = last_ != '\n';
  }
}

}  // namespace jobq
