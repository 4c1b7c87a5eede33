// libFuzzer target: the parser of the engine's inspect documents (what the
// poller reads to record a job's end). Anything that is not a well-formed
// document must be refused with std::invalid_argument, never crash or throw
// anything else; the RFC 3339 times it carries go through parse_rfc3339_ns.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "base/time_util.hpp"
#include "runtime/docker/docker_json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  try {
    const jobq::ContainerState st = jobq::parse_inspect(body);
    (void)jobq::parse_rfc3339_ns(st.started_at);
    (void)jobq::parse_rfc3339_ns(st.finished_at);
  } catch (const std::invalid_argument&) {
  }
  (void)jobq::parse_rfc3339_ns(body);
  (void)jobq::parse_duration(body);
  return 0;
}
