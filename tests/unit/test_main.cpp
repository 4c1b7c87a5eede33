// The unit tests' main: doctest's runner, with jobq's logging silenced
// (set JOBQ_TEST_LOG=debug, info, ... to see what the daemon parts log).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdlib>

#include <spdlog/spdlog.h>

int main(int argc, char** argv) {
  const char* level = std::getenv("JOBQ_TEST_LOG");
  spdlog::set_level(level ? spdlog::level::from_str(level) : spdlog::level::off);
  doctest::Context context;
  context.applyCommandLine(argc, argv);
  return context.run();
}
