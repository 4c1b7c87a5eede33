// libFuzzer target: the daemon's request parser and argument reader. Any
// input must end in a Request or a ProtocolError, nothing else.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "wire/protocol.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view line(reinterpret_cast<const char*>(data), size);
  try {
    const jobq::Request req = jobq::parse_request(line);
    // Read the args the way the enqueue handler does.
    jobq::ArgReader r(req.args, {"app", "command", "env", "message", "labels", "id", "ids",
                                 "timeout_ms", "force", "limit"});
    (void)r.string("app");
    (void)r.string_list("command");
    (void)r.string_map("env");
    (void)r.string("message");
    (void)r.string_map("labels");
    (void)r.integer("id");
    (void)r.integer_list("ids");
    (void)r.integer("timeout_ms");
    (void)r.boolean("force");
  } catch (const jobq::ProtocolError&) {
  }
  // The reply encoder must take whatever a client sent back in a message.
  (void)jobq::encode_error(jobq::ErrorCode::bad_request, line);
  return 0;
}
