// Docker's JSON, read: an inspect document, an event line, a pull's stream,
// and an image reference as `docker pull` splits it. Nothing outside
// runtime/docker/ reads Docker's JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "runtime/docker/container_engine.hpp"

namespace jobq {

// Parses the body of GET /containers/{id}/json. Throws std::invalid_argument
// on a body that is not a container inspect document.
ContainerState parse_inspect(std::string_view body);

// The jobq.job label of one line of GET /events (a container event), or
// nullopt when the line is not such an event or carries no valid label.
std::optional<std::int64_t> job_of_event(std::string_view line);
// The event's action ("die", "kill"...), or "" when the line does not say.
std::string action_of_event(std::string_view line);

// The fromImage and tag of POST /images/create for an image reference, as
// Docker's client splits it: "reg:5000/a/b:1" -> {"reg:5000/a/b", "1"},
// "a@sha256:..." -> {"a", "sha256:..."}, "busybox" -> {"busybox", "latest"}
// (an empty tag would pull every tag).
std::pair<std::string, std::string> pull_reference(const std::string& image);

// One line of POST /images/create's stream: its progress, or the error
// Docker reports in it (`error`, `errorDetail.message`), or neither (a line
// that is not a JSON object).
struct PullLine {
  std::optional<PullProgress> progress;
  std::optional<std::string> error;
};
PullLine parse_pull_line(std::string_view line);

}  // namespace jobq
