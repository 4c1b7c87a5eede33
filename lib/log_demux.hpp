// Docker's multiplexed log stream (containers without a TTY): frames of an
// 8-byte header {stream, 0, 0, 0, size as big-endian uint32} then `size`
// bytes of payload. LogDemuxer is fed arbitrary slices of that stream and
// hands out payload per stream; TailBuffer keeps the last N bytes of one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "engine.hpp"

namespace jobq {

class LogDemuxer {
 public:
  // With `timestamps` (the stream was asked for with timestamps=1), a frame
  // that continues a line (Docker cuts lines longer than 16 KiB into frames,
  // each with a timestamp of its own) loses its timestamp, so a line carries
  // one timestamp, at its start.
  explicit LogDemuxer(LogChunkFn sink, bool timestamps = false)
      : sink_(std::move(sink)), timestamps_(timestamps) {}
  // Feed the next bytes of the stream. Payload of unknown stream numbers
  // (0 = stdin, or garbage) is dropped; the framing is still followed.
  void feed(std::string_view bytes);
  // True when the stream ended in the middle of a frame.
  bool incomplete() const { return header_len_ != 0 || remaining_ != 0; }

 private:
  LogChunkFn sink_;
  unsigned char header_[8]{};
  std::size_t header_len_ = 0;
  std::uint32_t remaining_ = 0;
  int stream_ = 0;
  bool timestamps_ = false;
  bool mid_line_[3] = {false, false, false};  // per stream: the last frame did not end a line
  bool stripping_ = false;                     // reading a continuation frame's timestamp
  std::string prefix_;                         // ... so far
  char last_ = '\n';                            // the current frame's last payload byte

  void emit(std::string_view bytes);
  void end_prefix(bool drop);
};

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
