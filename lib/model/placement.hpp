// Placement: where a runtime that places runs on nodes (Swarm) may put an
// application's runs. Constraints are the scheduler's own syntax, KEY==VALUE
// or KEY!=VALUE (node.id, node.hostname, node.role, node.platform.os,
// node.platform.arch, node.labels.NAME, engine.labels.NAME); jobq checks
// their form, passes them on verbatim, and evaluates them itself only to
// know which nodes an application may use (for --max-per-node): values
// compare without regard to case, and a label a node lacks equals nothing,
// as Swarm's scheduler does.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "model/model.hpp"

namespace jobq {

struct Constraint {
  std::string key;
  bool equal = true;  // == (else !=)
  std::string value;
};

// nullopt when `text` is not KEY==VALUE or KEY!=VALUE (spaces around the
// operator allowed; the key of letters, digits, '.', '_', '-').
std::optional<Constraint> parse_constraint(std::string_view text);

// Fields: constraints (a list of at most 32, each as parse_constraint
// reads), max_per_node (0-10000), schedule_timeout_ms (0 to 30 days).
// Throws std::invalid_argument naming the field, as policy.hpp's apply_*.
Placement apply_placement(Placement base, const nlohmann::json& fields);
void to_json(nlohmann::json& j, const Placement& p);

// A node as constraints see it: "node.hostname" -> "db1",
// "node.labels.pool" -> "batch", ...
using NodeAttributes = std::map<std::string, std::string>;

// Whether a node with these attributes satisfies every constraint.
bool satisfies(const NodeAttributes& node, const std::vector<std::string>& constraints);

}  // namespace jobq
