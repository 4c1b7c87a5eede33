// The simulator's containers in memory (see container_model.hpp).
#include "container_model.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>

#include "sim_time.hpp"

namespace sim {

namespace {

bool label_matches(const std::map<std::string, std::string>& labels, const std::string& spec) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos) return labels.count(spec) > 0;
  const auto it = labels.find(spec.substr(0, eq));
  return it != labels.end() && it->second == spec.substr(eq + 1);
}

bool is_hex(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) {
    return std::isxdigit(static_cast<unsigned char>(ch)) &&
           !std::isupper(static_cast<unsigned char>(ch));
  });
}

}  // namespace

const char* status_name(Status s) {
  switch (s) {
    case Status::created:
      return "created";
    case Status::running:
      return "running";
    case Status::exited:
      return "exited";
  }
  return "dead";
}

bool any_of_values(const Filters& f, const std::string& key,
                   const std::function<bool(const std::string&)>& pred) {
  const auto it = f.find(key);
  if (it == f.end() || it->second.empty()) return true;
  return std::any_of(it->second.begin(), it->second.end(), pred);
}

bool labels_match(const Filters& f, const std::map<std::string, std::string>& labels) {
  const auto it = f.find("label");
  if (it == f.end()) return true;
  return std::all_of(it->second.begin(), it->second.end(),
                     [&](const std::string& s) { return label_matches(labels, s); });
}

std::optional<Filters> parse_filters(const std::string& text) {
  Filters out;
  if (text.empty()) return out;
  const auto doc = json::parse(text, nullptr, false);
  if (!doc.is_object()) return std::nullopt;
  for (const auto& [key, v] : doc.items()) {
    auto& values = out[key];
    if (v.is_array()) {
      for (const auto& s : v) {
        if (!s.is_string()) return std::nullopt;
        values.push_back(s.get<std::string>());
      }
    } else if (v.is_object()) {
      for (const auto& [s, flag] : v.items())
        if (!flag.is_boolean() || flag.get<bool>()) values.push_back(s);
    } else {
      return std::nullopt;
    }
  }
  return out;
}

void publish(State& st, const Container& c, const std::string& action) {
  if (st.subscribers.empty()) return;
  std::string line;
  for (const auto& sub : st.subscribers) {
    const Filters& f = sub->filters;
    const bool match =
        any_of_values(f, "type", [](const std::string& t) { return t == "container"; }) &&
        any_of_values(f, "event", [&](const std::string& e) { return e == action; }) &&
        any_of_values(f, "container",
                      [&](const std::string& s) { return s == c.name || c.id.rfind(s, 0) == 0; }) &&
        labels_match(f, c.labels);
    if (!match) continue;
    if (line.empty()) {
      const std::int64_t t = now_ns();
      json attrs(json::value_t::object);
      for (const auto& [k, v] : c.labels) attrs[k] = v;
      attrs["image"] = c.image;
      attrs["name"] = c.name;
      if (action == "die") attrs["exitCode"] = std::to_string(c.exit_code);
      const json ev{{"status", action}, {"id", c.id},
                    {"from", c.image},  {"Type", "container"},
                    {"Action", action}, {"Actor", {{"ID", c.id}, {"Attributes", attrs}}},
                    {"scope", "local"}, {"time", t / 1'000'000'000},
                    {"timeNano", t}};
      line = ev.dump() + "\n";
    }
    sub->queue.push_back(line);
    sub->cv.notify_all();
  }
}

void finish(State& st, Container& c, int code) {
  c.status = Status::exited;
  c.exit_code = code;
  c.pid = 0;
  c.finished_ns = now_ns();
  c.output.push_back(
      {c.finished_ns, "engine_sim: " + c.name + " exits with code " + std::to_string(code) + "\n"});
  publish(st, c, "die");
  st.changed.notify_all();
}

void begin_run(State& st, Container& c) {
  c.status = Status::running;
  c.exit_code = 0;
  c.pid = ++st.next_pid;
  c.started_ns = now_ns();
  c.finished_ns = 0;
  ++c.run;
  c.output.push_back({c.started_ns, "engine_sim: " + c.name + " started\n"});
  if (st.run_ms >= 0) {
    const auto when = SteadyClock::now() + std::chrono::milliseconds(st.run_ms);
    const bool sooner = st.exits.empty() || when < st.exits.top().when;
    st.exits.push({when, c.id, c.run});
    if (sooner) st.timer_cv.notify_one();
  }
  publish(st, c, "start");
  st.changed.notify_all();
}

[[noreturn]] void timer_loop(State& st) {
  std::unique_lock lock(st.mu);
  for (;;) {
    if (st.exits.empty()) {
      st.timer_cv.wait(lock);
      continue;
    }
    const auto when = st.exits.top().when;
    if (SteadyClock::now() < when) {
      st.timer_cv.wait_until(lock, when);
      continue;
    }
    const PendingExit e = st.exits.top();
    st.exits.pop();
    const auto it = st.by_id.find(e.id);
    if (it != st.by_id.end() && it->second->status == Status::running && it->second->run == e.run)
      finish(st, *it->second, st.exit_code);
  }
}

ContainerPtr lookup(State& st, const std::string& key) {
  if (auto it = st.by_id.find(key); it != st.by_id.end()) return it->second;
  const std::string name = !key.empty() && key[0] == '/' ? key.substr(1) : key;
  if (auto it = st.by_name.find(name); it != st.by_name.end()) return it->second;
  if (!is_hex(key)) return nullptr;
  ContainerPtr found;
  for (const auto& [id, c] : st.by_id) {
    if (id.rfind(key, 0) != 0) continue;
    if (found) return nullptr;  // ambiguous
    found = c;
  }
  return found;
}

std::string new_id(State& st) {
  std::string id;
  char buf[17];
  for (int i = 0; i < 4; ++i) {
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(st.rng()));
    id += buf;
  }
  return id;
}

bool valid_name(const std::string& n) {
  if (n.size() < 2) return false;
  if (!std::isalnum(static_cast<unsigned char>(n[0]))) return false;
  return std::all_of(n.begin() + 1, n.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '-';
  });
}

}  // namespace sim
