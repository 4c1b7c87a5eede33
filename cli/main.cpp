#include "jobq_cli.hpp"

int main(int argc, char** argv) {
  return jobq::jobq_main(argc, argv);
}
