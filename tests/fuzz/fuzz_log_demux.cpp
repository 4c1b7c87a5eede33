// libFuzzer target: Docker's multiplexed log stream. Fed in slices chosen by
// the input, the demultiplexer must never hand out more payload than it was
// given; the tail buffers must hold at most their cap (the timestamped one
// counting content only); filtering stored output never adds bytes.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "base/log_filter.hpp"
#include "base/log_tail.hpp"
#include "runtime/docker/log_demux.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t slice = 1 + data[0] % 64;
  const std::size_t cap = data[1] % 32;
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  const std::size_t total = rest.size();
  jobq::TailBuffer out(cap), err(cap);
  jobq::TimestampedTail stamped(cap);
  std::size_t handed = 0;
  jobq::LogDemuxer demux([&](jobq::LogStream s, std::string_view bytes) {
    handed += bytes.size();
    (s == jobq::LogStream::stdout_stream ? out : err).append(bytes);
    stamped.append(bytes);
  });
  while (!rest.empty()) {
    const std::size_t n = std::min(slice, rest.size());
    demux.feed(rest.substr(0, n));
    rest.remove_prefix(n);
  }
  if (handed > total) std::abort();
  if (out.take().size() > cap || err.take().size() > cap) std::abort();
  if (stamped.total_bytes() > handed) std::abort();
  const std::string kept = stamped.take();
  // Content bytes: each kept line minus its leading timestamp, if any.
  std::size_t content = 0;
  for (std::size_t pos = 0; pos < kept.size();) {
    auto nl = kept.find('\n', pos);
    const std::size_t end = nl == std::string::npos ? kept.size() : nl + 1;
    std::string_view line(kept.data() + pos, end - pos);
    const auto space = line.find(' ');
    const bool stamp = !line.empty() && line[0] >= '0' && line[0] <= '9' &&
                       space != std::string_view::npos && space <= 40;
    content += line.size() - (stamp ? space + 1 : 0);
    pos = end;
  }
  if (content > cap) std::abort();
  jobq::LogFilter f;
  f.tail = static_cast<int>(data[0] % 8) - 1;
  f.timestamps = (data[1] & 0x80) != 0;
  f.since_ns = (data[1] & 0x40) != 0 ? 1'700'000'000'000'000'000 : 0;
  if (jobq::filter_log(kept, true, f).size() > kept.size()) std::abort();
  return 0;
}
