// Docker's multiplexed log stream (containers without a TTY): frames of an
// 8-byte header {stream, 0, 0, 0, size as big-endian uint32} then `size`
// bytes of payload. LogDemuxer is fed arbitrary slices of that stream and
// hands out payload per stream (the tails kept of it: log_tail.hpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "runtime/docker/container_engine.hpp"

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
  bool stripping_ = false;                    // reading a continuation frame's timestamp
  std::string prefix_;                        // ... so far
  char last_ = '\n';                          // the current frame's last payload byte

  void emit(std::string_view bytes);
  void end_prefix(bool drop);
};

}  // namespace jobq
