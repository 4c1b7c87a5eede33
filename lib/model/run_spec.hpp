// What one run (an attempt of a job) is to execute, in no runtime's terms:
// the name and labels it is known by, the image, the command and env, and
// the resources. The store keeps it with the attempt (as JSON) so that a
// relaunch after a crash runs exactly what was claimed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "model/model.hpp"

namespace jobq {

struct RunSpec {
  std::string name;
  std::string image;
  std::optional<std::vector<std::string>> cmd;  // nullopt: the image's default
  std::vector<std::string> env;                 // "K=V"
  LabelMap labels;
  Resources resources;  // limits, network, read-only root, user
};

}  // namespace jobq
