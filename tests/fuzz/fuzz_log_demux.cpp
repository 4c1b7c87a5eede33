// libFuzzer target: Docker's multiplexed log stream. Fed in slices chosen by
// the input, the demultiplexer must never hand out more payload than it was
// given, and the tail buffer must hold at most its cap.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "log_demux.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  const std::size_t slice = 1 + data[0] % 64;
  const std::size_t cap = data[1] % 32;
  std::string_view rest(reinterpret_cast<const char*>(data + 2), size - 2);
  const std::size_t total = rest.size();
  jobq::TailBuffer out(cap), err(cap);
  std::size_t handed = 0;
  jobq::LogDemuxer demux([&](jobq::LogStream s, std::string_view bytes) {
    handed += bytes.size();
    (s == jobq::LogStream::stdout_stream ? out : err).append(bytes);
  });
  while (!rest.empty()) {
    const std::size_t n = std::min(slice, rest.size());
    demux.feed(rest.substr(0, n));
    rest.remove_prefix(n);
  }
  if (handed > total) std::abort();
  if (out.take().size() > cap || err.take().size() > cap) std::abort();
  return 0;
}
