#include "base/fault.hpp"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include <spdlog/spdlog.h>

namespace jobq {

void fault_point(const char* name) {
  static const char* const armed = std::getenv("JOBQD_CRASH_AT");
  if (!armed || std::strcmp(armed, name) != 0) return;
  spdlog::critical("JOBQD_CRASH_AT={}: crashing here on purpose (test-only)", name);
  spdlog::default_logger()->flush();
  ::kill(::getpid(), SIGKILL);
  ::_exit(137);  // not reached
}

}  // namespace jobq
