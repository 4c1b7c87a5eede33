// The Docker Engine API of engine_sim: routing and the calls answered whole
// (see docker_api.hpp).
#include "docker_api.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "sim_time.hpp"

namespace sim {

using http::Connection;
using http::param;
using http::Request;
using http::Response;

int compare_versions(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  const auto part = [](const std::string& s, std::size_t& k) {
    long n = 0;
    for (; k < s.size() && s[k] != '.'; ++k)
      if (std::isdigit(static_cast<unsigned char>(s[k]))) n = n * 10 + (s[k] - '0');
    ++k;  // past the dot
    return n;
  };
  while (i < a.size() || j < b.size()) {
    const long x = part(a, i), y = part(b, j);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

bool flag(const Request& r, const std::string& key) {
  const auto it = r.query.find(key);
  if (it == r.query.end()) return false;
  std::string v = it->second;
  std::transform(v.begin(), v.end(), v.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return !(v.empty() || v == "0" || v == "no" || v == "false" || v == "none");
}

void DockerApi::simulated_latency() const {
  if (opts_.latency_ms > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(opts_.latency_ms));
}

std::string no_such(const std::string& key) {
  return "No such container: " + key;
}

Response error(int status, const std::string& message) {
  return {status, json{{"message", message}}.dump() + "\n", "application/json"};
}

Response DockerApi::handle_version() const {
  const json doc{{"Platform", {{"Name", "engine_sim"}}},
                 {"Version", kEngineVersion},
                 {"ApiVersion", opts_.api},
                 {"MinAPIVersion", "1.12"},
                 {"GitCommit", "engine_sim"},
                 {"GoVersion", "none"},
                 {"Os", "linux"},
                 {"Arch", "amd64"},
                 {"KernelVersion", "sim"},
                 {"Components", json::array({{{"Name", "Engine"}, {"Version", kEngineVersion}}})}};
  return {200, doc.dump() + "\n", "application/json"};
}

Response DockerApi::handle_info() {
  std::lock_guard lock(st_.mu);
  long running = 0, stopped = 0;
  for (const auto& [id, c] : st_.by_id) {
    if (c->status == Status::running)
      ++running;
    else if (c->status == Status::exited)
      ++stopped;
  }
  const json doc{{"ID", "engine_sim"},
                 {"Containers", st_.by_id.size()},
                 {"ContainersRunning", running},
                 {"ContainersPaused", 0},
                 {"ContainersStopped", stopped},
                 {"Images", 0},
                 {"ServerVersion", kEngineVersion},
                 {"OperatingSystem", "engine_sim"},
                 {"OSType", "linux"},
                 {"NCPU", std::thread::hardware_concurrency()}};
  return {200, doc.dump() + "\n", "application/json"};
}

Response DockerApi::handle_create(const Request& r) {
  simulated_latency();
  std::string name = param(r, "name");
  if (!name.empty() && name[0] == '/') name.erase(0, 1);
  if (r.query.count("name") && !valid_name(name))
    return error(
        400, "Invalid container name (" + name + "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  const auto body = json::parse(r.body, nullptr, false);
  if (!body.is_object()) return error(400, "invalid JSON body");
  const auto image = body.find("Image");
  if (image == body.end() || !image->is_string() || image->get<std::string>().empty())
    return error(400, "no image given (Config.Image)");
  std::map<std::string, std::string> labels;
  if (auto l = body.find("Labels"); l != body.end() && !l->is_null()) {
    if (!l->is_object()) return error(400, "Labels is not an object");
    for (const auto& [k, v] : l->items()) {
      if (!v.is_string()) return error(400, "label " + k + " is not a string");
      labels[k] = v.get<std::string>();
    }
  }
  auto c = std::make_shared<Container>();
  c->image = image->get<std::string>();
  c->labels = std::move(labels);
  c->config = body;
  c->config.erase("HostConfig");
  c->config.erase("NetworkingConfig");
  c->host_config = body.contains("HostConfig") && body["HostConfig"].is_object()
                       ? body["HostConfig"]
                       : json::object();
  c->created_ns = now_ns();
  std::lock_guard lock(st_.mu);
  do c->id = new_id(st_);
  while (st_.by_id.count(c->id));
  if (name.empty()) name = "sim_" + c->id.substr(0, 12);
  if (auto it = st_.by_name.find(name); it != st_.by_name.end())
    return error(
        409,
        "Conflict. The container name \"/" + name + "\" is already in use by container \"" +
            it->second->id +
            "\". You have to remove (or rename) that container to be able to reuse that name.");
  c->name = name;
  c->config["Hostname"] = c->id.substr(0, 12);
  c->config["Labels"] = c->labels;
  st_.by_id[c->id] = c;
  st_.by_name[name] = c;
  publish(st_, *c, "create");
  return {201, json{{"Id", c->id}, {"Warnings", json::array()}}.dump() + "\n", "application/json"};
}

Response DockerApi::handle_start(const std::string& key) {
  simulated_latency();
  std::lock_guard lock(st_.mu);
  const auto c = lookup(st_, key);
  if (!c) return error(404, no_such(key));
  if (c->status == Status::running) return {304, "", ""};
  begin_run(st_, *c);
  return {204, "", ""};
}

namespace {

json inspect_doc(const Container& c) {
  json cmd =
      c.config.contains("Cmd") && c.config["Cmd"].is_array() ? c.config["Cmd"] : json::array();
  const std::string path = !cmd.empty() && cmd[0].is_string() ? cmd[0].get<std::string>() : "";
  json args = json::array();
  for (std::size_t i = 1; i < cmd.size(); ++i) args.push_back(cmd[i]);
  return json{{"Id", c.id},
              {"Created", rfc3339(c.created_ns, false)},
              {"Path", path},
              {"Args", args},
              {"State",
               {{"Status", status_name(c.status)},
                {"Running", c.status == Status::running},
                {"Paused", false},
                {"Restarting", false},
                {"OOMKilled", false},
                {"Dead", false},
                {"Pid", c.pid},
                {"ExitCode", c.exit_code},
                {"Error", ""},
                {"StartedAt", rfc3339(c.started_ns, false)},
                {"FinishedAt", rfc3339(c.finished_ns, false)}}},
              {"Image", "sha256:" + std::string(64, '0')},
              {"Name", "/" + c.name},
              {"RestartCount", 0},
              {"Driver", "engine_sim"},
              {"Platform", "linux"},
              {"HostConfig", c.host_config},
              {"Config", c.config}};
}

}  // namespace

Response DockerApi::handle_inspect(const std::string& key) {
  std::unique_lock lock(st_.mu);
  const auto c = lookup(st_, key);
  if (!c) return error(404, no_such(key));
  const json doc = inspect_doc(*c);
  lock.unlock();
  return {200, doc.dump() + "\n", "application/json"};
}

Response DockerApi::handle_stop(const std::string& key) {
  std::lock_guard lock(st_.mu);
  const auto c = lookup(st_, key);
  if (!c) return error(404, no_such(key));
  if (c->status != Status::running) return {304, "", ""};
  publish(st_, *c, "kill");
  finish(st_, *c, 143);  // ended by SIGTERM
  publish(st_, *c, "stop");
  return {204, "", ""};
}

Response DockerApi::handle_kill(const std::string& key) {
  std::lock_guard lock(st_.mu);
  const auto c = lookup(st_, key);
  if (!c) return error(404, no_such(key));
  if (c->status != Status::running) return error(409, "Container " + c->id + " is not running");
  publish(st_, *c, "kill");
  finish(st_, *c, 137);
  return {204, "", ""};
}

Response DockerApi::handle_remove(const Request& r, const std::string& key) {
  std::lock_guard lock(st_.mu);
  const auto c = lookup(st_, key);
  if (!c) return error(404, no_such(key));
  if (c->status == Status::running) {
    if (!flag(r, "force"))
      return error(409, "You cannot remove a running container " + c->id +
                            ". Stop the container before attempting removal or force remove");
    publish(st_, *c, "kill");
    finish(st_, *c, 137);
  }
  st_.by_id.erase(c->id);
  st_.by_name.erase(c->name);
  c->removed = true;
  publish(st_, *c, "destroy");
  st_.changed.notify_all();
  return {204, "", ""};
}

namespace {

std::string human_status(const Container& c, std::int64_t now) {
  const auto ago = [&](std::int64_t since) {
    const std::int64_t s = std::max<std::int64_t>(0, (now - since) / 1'000'000'000);
    if (s < 60) return std::to_string(s) + " seconds";
    if (s < 3600) return std::to_string(s / 60) + " minutes";
    return std::to_string(s / 3600) + " hours";
  };
  switch (c.status) {
    case Status::created:
      return "Created";
    case Status::running:
      return "Up " + ago(c.started_ns);
    case Status::exited:
      return "Exited (" + std::to_string(c.exit_code) + ") " + ago(c.finished_ns) + " ago";
  }
  return "";
}

}  // namespace

Response DockerApi::handle_list(const Request& r) {
  const auto filters = parse_filters(param(r, "filters"));
  if (!filters) return error(400, "invalid filter: " + param(r, "filters"));
  const bool all = flag(r, "all");
  const std::int64_t now = now_ns();
  json out = json::array();
  std::lock_guard lock(st_.mu);
  std::vector<const Container*> chosen;
  for (const auto& entry : st_.by_id) {
    const Container* c = entry.second.get();
    if (!all && c->status != Status::running) continue;
    if (!labels_match(*filters, c->labels)) continue;
    if (!any_of_values(*filters, "status",
                       [&](const std::string& s) { return s == status_name(c->status); }))
      continue;
    if (!any_of_values(*filters, "name",
                       [&](const std::string& s) { return c->name.find(s) != std::string::npos; }))
      continue;
    if (!any_of_values(*filters, "id",
                       [&](const std::string& s) { return c->id.rfind(s, 0) == 0; }))
      continue;
    chosen.push_back(c);
  }
  std::sort(chosen.begin(), chosen.end(),
            [](const Container* a, const Container* b) { return a->created_ns > b->created_ns; });
  for (const Container* c : chosen) {
    std::string command;
    if (c->config.contains("Cmd") && c->config["Cmd"].is_array())
      for (const auto& part : c->config["Cmd"])
        if (part.is_string()) command += (command.empty() ? "" : " ") + part.get<std::string>();
    out.push_back({{"Id", c->id},
                   {"Names", json::array({"/" + c->name})},
                   {"Image", c->image},
                   {"ImageID", "sha256:" + std::string(64, '0')},
                   {"Command", command},
                   {"Created", c->created_ns / 1'000'000'000},
                   {"Ports", json::array()},
                   {"Labels", c->labels},
                   {"State", status_name(c->status)},
                   {"Status", human_status(*c, now)},
                   {"HostConfig", {{"NetworkMode", "default"}}},
                   {"Mounts", json::array()}});
  }
  return {200, out.dump() + "\n", "application/json"};
}

std::string DockerApi::reply_headers() const {
  return "Api-Version: " + opts_.api + "\r\nDocker-Experimental: false\r\nOstype: linux\r\n" +
         "Server: Docker/" + kEngineVersion + " (linux)\r\n";
}

bool DockerApi::handle(Connection& conn, const Request& r) {
  // /v1.41/containers/... -> /containers/...
  std::string version = opts_.api, p = r.path;
  if (p.size() > 2 && p[0] == '/' && p[1] == 'v' &&
      std::isdigit(static_cast<unsigned char>(p[2]))) {
    std::size_t i = 2;
    while (i < p.size() && (std::isdigit(static_cast<unsigned char>(p[i])) || p[i] == '.')) ++i;
    if (i == p.size() || p[i] == '/') {
      version = p.substr(2, i - 2);
      p = i == p.size() ? "/" : p.substr(i);
    }
  }
  if (compare_versions(version, opts_.api) > 0)
    return conn.respond(
        r, error(400, "client version " + version +
                          " is too new. Maximum supported API version is " + opts_.api));
  const std::string& m = r.method;
  if (p == "/_ping" && (m == "GET" || m == "HEAD"))
    return conn.respond(r, {200, "OK", "text/plain; charset=utf-8"});
  if (p == "/version" && m == "GET") return conn.respond(r, handle_version());
  if (p == "/info" && m == "GET") return conn.respond(r, handle_info());
  if (p == "/events" && m == "GET") return handle_events(conn, r);
  if (p == "/containers/create" && m == "POST") return conn.respond(r, handle_create(r));
  if (p == "/containers/json" && m == "GET") return conn.respond(r, handle_list(r));
  // Images: the simulator has every image, so a pull only says so.
  if (p == "/images/create" && m == "POST") {
    const std::string name = param(r, "fromImage") + ":" + param(r, "tag");
    return conn.respond(
        r,
        {200,
         json{{"status", "Pulling from " + param(r, "fromImage")}, {"id", param(r, "tag")}}.dump() +
             "\r\n" + json{{"status", "Status: Image is up to date for " + name}}.dump() + "\r\n"});
  }
  if (p.rfind("/images/", 0) == 0 && p.size() > 13 && p.compare(p.size() - 5, 5, "/json") == 0 &&
      m == "GET")
    return conn.respond(r, {200, json{{"Id", "sha256:" + std::string(64, '0')},
                                      {"RepoTags", {p.substr(8, p.size() - 13)}}}
                                         .dump() +
                                     "\n"});
  const std::string prefix = "/containers/";
  if (p.rfind(prefix, 0) == 0) {
    const std::string rest = p.substr(prefix.size());
    const auto slash = rest.find('/');
    const std::string key = rest.substr(0, slash);
    const std::string action = slash == std::string::npos ? "" : rest.substr(slash + 1);
    if (!key.empty()) {
      if (action.empty() && m == "DELETE") return conn.respond(r, handle_remove(r, key));
      if (action == "json" && m == "GET") return conn.respond(r, handle_inspect(key));
      if (action == "start" && m == "POST") return conn.respond(r, handle_start(key));
      if (action == "stop" && m == "POST") return conn.respond(r, handle_stop(key));
      if (action == "kill" && m == "POST") return conn.respond(r, handle_kill(key));
      if (action == "logs" && m == "GET") return handle_logs(conn, r, key, version);
    }
  }
  return conn.respond(r, error(404, "page not found"));
}

}  // namespace sim
