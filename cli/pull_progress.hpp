// A pull's progress as `jobq app create/update` shows it on a terminal, the
// way `docker pull` does: a line per layer ("a1b2c3d4e5f6: Downloading
// [=====>    ] 1.2MB/3.4MB"), rewritten in place as the layer moves on
// (cursor up, clear line), and Docker's other lines ("Pulling from ...",
// "Digest: ...", "Status: ...") printed once. Off a terminal, each change
// of a layer's status is a line of its own. Text from the daemon is printed
// through render::visible().
#pragma once

#include <map>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace jobq {

class PullProgressView {
 public:
  PullProgressView(std::ostream& out, bool terminal) : out_(out), terminal_(terminal) {}
  // One partial reply's "pull" object: {id, status, current, total}.
  void update(const nlohmann::json& pull);

 private:
  std::ostream& out_;
  bool terminal_;
  std::vector<std::string> lines_;          // layer ids ("" for a line of its own), top to bottom
  std::map<std::string, std::size_t> row_;  // layer id -> its line
  std::map<std::string, std::string> shown_status_;  // off a terminal: the last status shown
};

// "Downloading [=====>     ] 1.2MB/3.4MB"
std::string pull_line_text(const std::string& status, std::int64_t current, std::int64_t total);

}  // namespace jobq
