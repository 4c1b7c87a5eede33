#include "jobqd.hpp"

int main(int argc, char** argv) {
  return jobq::jobqd_main(argc, argv);
}
