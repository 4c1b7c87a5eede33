// jobqd: reads its options (options.hpp), then makes the store, the Docker
// runtime and the executor (exec/executor.hpp) and serves the socket until
// SIGTERM or SIGINT. No logic of its own.
#pragma once

namespace jobq {
int jobqd_main(int argc, char** argv);
}
