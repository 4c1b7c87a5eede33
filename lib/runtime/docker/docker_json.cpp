#include "runtime/docker/docker_json.hpp"

#include <charconv>

#include <nlohmann/json.hpp>

namespace jobq {

namespace {
// A field that is present must have its documented type: a malformed answer
// is refused (and asked again later), never read as a guess.
bool flag(const nlohmann::json& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return false;
  if (!it->is_boolean())
    throw std::invalid_argument(std::string("inspect: ") + key + " is not a boolean");
  return it->get<bool>();
}

std::string text(const nlohmann::json& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return {};
  if (!it->is_string())
    throw std::invalid_argument(std::string("inspect: ") + key + " is not a string");
  return it->get<std::string>();
}

ContainerState parse_inspect_document(std::string_view body) {
  const auto doc = nlohmann::json::parse(body, nullptr, false);
  if (!doc.is_object() || !doc.contains("State") || !doc["State"].is_object())
    throw std::invalid_argument("engine answered an inspect without State");
  const auto& st = doc["State"];
  ContainerState out;
  out.id = text(doc, "Id");
  out.status = text(st, "Status");
  out.running = flag(st, "Running");
  if (auto it = st.find("ExitCode"); it != st.end() && !it->is_null()) {
    if (!it->is_number_integer())
      throw std::invalid_argument("inspect: ExitCode is not an integer");
    const auto code = it->get<long long>();
    out.exit_code = code >= -1'000'000 && code <= 1'000'000 ? static_cast<int>(code) : -1;
  }
  out.oom_killed = flag(st, "OOMKilled");
  out.error = text(st, "Error");
  out.started_at = text(st, "StartedAt");
  out.finished_at = text(st, "FinishedAt");
  if (auto cfg = doc.find("Config"); cfg != doc.end() && cfg->is_object()) {
    if (auto labels = cfg->find("Labels"); labels != cfg->end() && labels->is_object()) {
      for (const auto& [k, v] : labels->items())
        if (v.is_string()) out.labels[k] = v.get<std::string>();
    }
  }
  return out;
}
}  // namespace

std::optional<std::int64_t> job_of_event(std::string_view line) {
  const auto ev = nlohmann::json::parse(line, nullptr, false);
  if (!ev.is_object()) return std::nullopt;
  const auto actor = ev.find("Actor");
  if (actor == ev.end() || !actor->is_object()) return std::nullopt;
  const auto attrs = actor->find("Attributes");
  if (attrs == actor->end() || !attrs->is_object()) return std::nullopt;
  std::string text;
  if (const auto job = attrs->find("jobq.job"); job != attrs->end() && job->is_string()) {
    text = job->get<std::string>();
  } else if (const auto name = attrs->find("name"); name != attrs->end() && name->is_string()) {
    // A warm container renamed to its run (jobq-<instance>-<job>-<attempt>)
    // has no jobq.job label: its name says.
    const std::string& n = name->get_ref<const std::string&>();
    const auto last = n.rfind('-');
    const auto before =
        last == std::string::npos || last == 0 ? std::string::npos : n.rfind('-', last - 1);
    if (before == std::string::npos) return std::nullopt;
    text = n.substr(before + 1, last - before - 1);
  } else {
    return std::nullopt;
  }
  std::int64_t id = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id <= 0) return std::nullopt;
  return id;
}

std::string action_of_event(std::string_view line) {
  const auto ev = nlohmann::json::parse(line, nullptr, false);
  if (!ev.is_object()) return "";
  for (const char* key : {"Action", "status"})
    if (auto it = ev.find(key); it != ev.end() && it->is_string()) return it->get<std::string>();
  return "";
}

std::pair<std::string, std::string> pull_reference(const std::string& image) {
  if (const auto at = image.find('@'); at != std::string::npos) {
    std::string name = image.substr(0, at);  // a tag beside the digest does not count
    const auto colon = name.rfind(':');
    const auto slash = name.rfind('/');
    if (colon != std::string::npos && (slash == std::string::npos || colon > slash))
      name.resize(colon);
    return {name, image.substr(at + 1)};
  }
  const auto colon = image.rfind(':');
  const auto slash = image.rfind('/');
  if (colon != std::string::npos && (slash == std::string::npos || colon > slash))
    return {image.substr(0, colon), image.substr(colon + 1)};
  return {image, "latest"};
}

PullLine parse_pull_line(std::string_view line) {
  PullLine out;
  const auto doc = nlohmann::json::parse(line, nullptr, false);
  if (!doc.is_object()) return out;
  const auto str = [&](const nlohmann::json& o, const char* key) -> std::string {
    auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (auto detail = doc.find("errorDetail"); detail != doc.end() && detail->is_object()) {
    if (auto msg = str(*detail, "message"); !msg.empty()) out.error = msg;
  }
  if (!out.error && doc.contains("error")) {
    const std::string msg = str(doc, "error");
    out.error = msg.empty() ? std::string("the pull failed (Docker gave no message)") : msg;
  }
  if (out.error) return out;
  PullProgress p;
  p.id = str(doc, "id");
  p.status = str(doc, "status");
  if (auto detail = doc.find("progressDetail"); detail != doc.end() && detail->is_object()) {
    const auto num = [&](const char* key) -> std::int64_t {
      auto it = detail->find(key);
      return it != detail->end() && it->is_number_integer() ? it->get<std::int64_t>() : 0;
    };
    p.current = num("current");
    p.total = num("total");
  }
  if (!p.status.empty()) out.progress = std::move(p);
  return out;
}

ContainerState parse_inspect(std::string_view body) {
  try {
    return parse_inspect_document(body);
  } catch (const nlohmann::json::exception& e) {
    throw std::invalid_argument(std::string("engine answered a malformed inspect: ") + e.what());
  }
}

}  // namespace jobq
