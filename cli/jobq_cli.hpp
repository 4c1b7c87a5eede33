// jobq: the command-line client. One function per subcommand; each talks to
// jobqd through Client and prints through render. Errors are caught once, in
// jobq_main, printed as "jobq: error: ..." and mapped to exit_codes.hpp.
#pragma once

namespace jobq {
int jobq_main(int argc, char** argv);
}
