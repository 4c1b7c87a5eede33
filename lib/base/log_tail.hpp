// The end of a job's output, kept within a cap: TailBuffer the last N bytes
// of a stream, TimestampedTail the last whole lines of a timestamped one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

namespace jobq {

class TailBuffer {
 public:
  explicit TailBuffer(std::size_t cap) : cap_(cap) {}
  void append(std::string_view bytes);
  std::string take();  // the kept tail
  bool truncated() const { return total_ > cap_; }
  std::uint64_t total_bytes() const { return total_; }

 private:
  std::size_t cap_;
  std::string buf_;
  std::uint64_t total_ = 0;
};

// The tail of timestamped output (each line "<RFC 3339 time> <content>"):
// the cap counts content bytes only, so --log-cap means the same with or
// without timestamps. Whole lines are kept; the oldest kept line may be cut
// at its front (after its timestamp) to fit the cap exactly.
class TimestampedTail {
 public:
  explicit TimestampedTail(std::size_t cap) : cap_(cap) {}
  void append(std::string_view bytes);
  std::string take();
  bool truncated() const { return total_bytes() > cap_; }
  std::uint64_t total_bytes() const;  // content bytes seen

 private:
  struct Line {
    std::string text;
    std::size_t prefix = 0;  // bytes of the timestamp and its space
  };
  void add_line(std::string text);
  void trim();

  std::size_t cap_;
  std::deque<Line> lines_;
  std::string partial_;   // the line being written
  std::size_t kept_ = 0;  // content bytes in lines_
  std::uint64_t total_ = 0;
};

}  // namespace jobq
