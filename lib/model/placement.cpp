#include "model/placement.hpp"

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace jobq {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool key_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

bool same_text(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

[[noreturn]] void invalid(const std::string& msg) {
  throw std::invalid_argument(msg);
}

}  // namespace

std::optional<Constraint> parse_constraint(std::string_view text) {
  if (text.size() > 256) return std::nullopt;
  if (std::any_of(text.begin(), text.end(),
                  [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; }))
    return std::nullopt;
  auto op = text.find("==");
  const auto ne = text.find("!=");
  bool equal = true;
  if (op == std::string_view::npos || (ne != std::string_view::npos && ne < op)) {
    op = ne;
    equal = false;
  }
  if (op == std::string_view::npos) return std::nullopt;
  const auto key = trim(text.substr(0, op));
  const auto value = trim(text.substr(op + 2));
  if (key.empty() || !std::all_of(key.begin(), key.end(), key_char) || value.empty() ||
      value.find("==") != std::string_view::npos || value.find("!=") != std::string_view::npos)
    return std::nullopt;
  return Constraint{std::string(key), equal, std::string(value)};
}

Placement apply_placement(Placement p, const nlohmann::json& f) {
  if (!f.is_object()) invalid("'placement' must be an object");
  for (const auto& item : f.items()) {
    const std::string& k = item.key();
    const nlohmann::json& v = item.value();
    if (k == "constraints") {
      if (!v.is_array() || v.size() > 32)
        invalid("placement.constraints must be a list of at most 32 constraints");
      p.constraints.clear();
      for (const auto& c : v) {
        if (!c.is_string() || !parse_constraint(c.get<std::string>()))
          invalid("placement.constraints: '" + (c.is_string() ? c.get<std::string>() : c.dump()) +
                  "' is not KEY==VALUE or KEY!=VALUE (such as node.labels.pool==batch or "
                  "node.hostname!=db1)");
        p.constraints.push_back(c.get<std::string>());
      }
    } else if (k == "max_per_node") {
      if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > 10000)
        invalid("placement.max_per_node must be an integer from 0 (no limit) to 10000");
      p.max_per_node = v.get<int>();
    } else if (k == "schedule_timeout_ms") {
      constexpr std::int64_t kMax = 30LL * 86'400'000;
      if (!v.is_number_integer() || v.get<std::int64_t>() < 0 || v.get<std::int64_t>() > kMax)
        invalid("placement.schedule_timeout_ms must be an integer from 0 (none) to " +
                std::to_string(kMax) + " (30 days)");
      p.schedule_timeout_ms = v.get<std::int64_t>();
    } else {
      invalid("'placement' has no field '" + k +
              "' (known: constraints, max_per_node, schedule_timeout_ms)");
    }
  }
  return p;
}

void to_json(nlohmann::json& j, const Placement& p) {
  j = nlohmann::json{{"constraints", p.constraints},
                     {"max_per_node", p.max_per_node},
                     {"schedule_timeout_ms", p.schedule_timeout_ms}};
}

bool satisfies(const NodeAttributes& node, const std::vector<std::string>& constraints) {
  for (const auto& text : constraints) {
    const auto c = parse_constraint(text);
    if (!c) return false;
    const auto it = node.find(c->key);
    const bool equal = it != node.end() && same_text(it->second, c->value);
    if (equal != c->equal) return false;
  }
  return true;
}

}  // namespace jobq
