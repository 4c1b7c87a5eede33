#include "log_demux.hpp"

#include <algorithm>

namespace jobq {

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
      continue;
    }
    const std::size_t n = std::min<std::size_t>(remaining_, bytes.size());
    if (stream_ == 1 || stream_ == 2)
      sink_(static_cast<LogStream>(stream_), bytes.substr(0, n));
    remaining_ -= static_cast<std::uint32_t>(n);
    bytes.remove_prefix(n);
  }
}

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

}  // namespace jobq
