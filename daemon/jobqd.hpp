// jobqd: parses its options and wires the parts together (store, engine,
// runner, poller, pending replies, socket server). No logic of its own.
#pragma once

namespace jobq {
int jobqd_main(int argc, char** argv);
}
