#include "runtime/docker/docker_engine.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fstream>
#include <sstream>

#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "runtime/docker/docker_json.hpp"
#include "runtime/docker/log_demux.hpp"

namespace jobq {

std::string engine_socket_path(const std::string& address) {
  const std::string scheme = "unix://";
  if (address.rfind(scheme, 0) != 0 || address.size() == scheme.size())
    throw std::invalid_argument(
        "engine address '" + address +
        "' is not supported: jobqd talks to the engine over a unix:///path socket");
  return address.substr(scheme.size());
}

std::string docker_socket_from_env() {
  const char* host = std::getenv("DOCKER_HOST");
  if (!host || !*host) return "/var/run/docker.sock";
  return engine_socket_path(host);
}

int compare_api_versions(const std::string& a, const std::string& b) {
  std::istringstream sa(a), sb(b);
  for (;;) {
    long x = 0, y = 0;
    char dot;
    const bool ha = static_cast<bool>(sa >> x);
    const bool hb = static_cast<bool>(sb >> y);
    if (!ha && !hb) return 0;
    if (x != y) return x < y ? -1 : 1;
    sa >> dot;
    sb >> dot;
  }
}

namespace {
std::string url_escape(const std::string& s) {
  std::string out;
  for (const char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += ch;
    } else {
      static const char* hex = "0123456789ABCDEF";
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

std::string engine_message(const HttpResponse& r) {
  const auto doc = nlohmann::json::parse(r.body, nullptr, false);
  if (doc.is_object() && doc.contains("message") && doc["message"].is_string())
    return doc["message"].get<std::string>();
  return r.body.substr(0, 300);
}

[[noreturn]] void throw_for(const HttpResponse& r, const std::string& what) {
  using K = EngineError::Kind;
  const K kind = r.status == 404   ? K::not_found
                 : r.status == 409 ? K::conflict
                 : r.status >= 500 ? K::server
                                   : K::rejected;
  throw EngineError(
      kind, static_cast<int>(r.status),
      what + ": engine answered " + std::to_string(r.status) + ": " + engine_message(r));
}
}  // namespace

SwarmApi::~SwarmApi() = default;

DockerEngine::DockerEngine(std::string socket_path)
    : DockerEngine(EngineAddress{std::move(socket_path), "", "", "", ""}) {}

DockerEngine::DockerEngine(EngineAddress address) : address_(address), http_(std::move(address)) {}

HttpResponse DockerEngine::call(const std::string& method, const std::string& path,
                                const std::string* body, long timeout_ms,
                                const std::function<void(std::string_view)>& on_body,
                                const std::function<bool()>& keep_going,
                                const std::vector<std::string>& headers) {
  try {
    return http_.request(method, path, body, timeout_ms, on_body, keep_going, headers);
  } catch (const std::runtime_error& e) {
    throw EngineError(EngineError::Kind::unreachable, 0,
                      std::string("cannot reach the Docker engine: ") + e.what());
  }
}

std::string DockerEngine::api_version() {
  {
    std::lock_guard lock(mu_);
    if (!version_.empty()) return version_;
  }
  const auto r = call("GET", "/_ping", nullptr, 10'000);
  if (r.status != 200) throw_for(r, "ping");
  std::string theirs = kMinApiVersion;
  if (auto it = r.headers.find("api-version"); it != r.headers.end()) theirs = it->second;
  if (compare_api_versions(theirs, kMinApiVersion) < 0)
    throw EngineError(EngineError::Kind::rejected, 0,
                      "Docker engine API " + theirs + " is too old; jobq needs " + kMinApiVersion);
  const std::string chosen =
      compare_api_versions(theirs, kMaxApiVersion) < 0 ? theirs : kMaxApiVersion;
  std::lock_guard lock(mu_);
  version_ = chosen;
  return version_;
}

std::string DockerEngine::ping() {
  const std::string version = api_version();
  const auto r = call("GET", "/_ping", nullptr, 10'000);
  if (r.status != 200) throw_for(r, "ping");
  return version;
}

std::string DockerEngine::server_version() {
  const auto r = call("GET", "/version", nullptr, 10'000);
  if (r.status != 200) throw_for(r, "version");
  const auto doc = nlohmann::json::parse(r.body, nullptr, false);
  return doc.is_object() && doc.contains("Version") && doc["Version"].is_string()
             ? doc["Version"].get<std::string>()
             : "";
}

std::string DockerEngine::prefix() {
  return "/v" + api_version();
}

namespace {
// The limits of HostConfig (create) and of an update, alike.
void put_limits(nlohmann::json& host, const Resources& res, bool zero_too) {
  if (res.memory_bytes > 0 || zero_too) {
    host["Memory"] = res.memory_bytes;
    // No swap: over the limit means an OOM kill (-1 lifts it with the memory).
    host["MemorySwap"] = res.memory_bytes > 0 ? res.memory_bytes : -1;
  }
  if (res.nano_cpus > 0 || zero_too) host["NanoCpus"] = res.nano_cpus;
  if (res.pids_limit > 0 || zero_too) host["PidsLimit"] = res.pids_limit > 0 ? res.pids_limit : -1;
}

std::vector<std::string> string_list(const nlohmann::json& v) {
  std::vector<std::string> out;
  if (v.is_array())
    for (const auto& s : v)
      if (s.is_string()) out.push_back(s.get<std::string>());
  return out;
}
}  // namespace

std::string DockerEngine::create_with(const RunSpec& spec, const ContainerExtras& extras) {
  nlohmann::json body{
      {"Image", spec.image},   {"Env", spec.env},      {"Labels", spec.labels},
      {"Tty", false},          {"AttachStdin", false}, {"AttachStdout", false},
      {"AttachStderr", false}, {"OpenStdin", false},   {"HostConfig", {{"AutoRemove", false}}}};
  if (spec.cmd) body["Cmd"] = *spec.cmd;
  if (!extras.entrypoint.empty()) body["Entrypoint"] = extras.entrypoint;
  const Resources& res = spec.resources;
  auto& host = body["HostConfig"];
  put_limits(host, res, false);
  if (!extras.binds.empty()) host["Binds"] = extras.binds;
  if (!res.network.empty()) host["NetworkMode"] = res.network;
  if (res.read_only) host["ReadonlyRootfs"] = true;
  if (!res.user.empty()) body["User"] = res.user;
  const std::string text = body.dump();
  const auto r = call("POST", prefix() + "/containers/create?name=" + url_escape(spec.name), &text);
  if (r.status != 201) throw_for(r, "create " + spec.name);
  const auto doc = nlohmann::json::parse(r.body, nullptr, false);
  if (!doc.is_object() || !doc.contains("Id") || !doc["Id"].is_string())
    throw EngineError(EngineError::Kind::server, static_cast<int>(r.status),
                      "create " + spec.name + ": engine answered without an Id");
  return doc["Id"].get<std::string>();
}

void DockerEngine::rename(const std::string& id, const std::string& new_name) {
  const auto r = call(
      "POST", prefix() + "/containers/" + url_escape(id) + "/rename?name=" + url_escape(new_name));
  if (r.status == 204) return;
  throw_for(r, "rename " + id + " to " + new_name);
}

void DockerEngine::update_limits(const std::string& id, const Resources& limits) {
  nlohmann::json body = nlohmann::json::object();
  put_limits(body, limits, true);
  const std::string text = body.dump();
  const auto r = call("POST", prefix() + "/containers/" + url_escape(id) + "/update", &text);
  if (r.status == 200) return;
  throw_for(r, "update " + id);
}

void DockerEngine::start(const std::string& id) {
  const auto r = call("POST", prefix() + "/containers/" + url_escape(id) + "/start");
  if (r.status == 204 || r.status == 304) return;
  throw_for(r, "start " + id);
}

std::optional<ContainerState> DockerEngine::inspect(const std::string& id) {
  const auto r = call("GET", prefix() + "/containers/" + url_escape(id) + "/json");
  if (r.status == 404) return std::nullopt;
  if (r.status != 200) throw_for(r, "inspect " + id);
  try {
    return parse_inspect(r.body);
  } catch (const std::invalid_argument& e) {
    throw EngineError(EngineError::Kind::server, 200, "inspect " + id + ": " + e.what());
  }
}

void DockerEngine::stop(const std::string& id, int grace_seconds) {
  const long timeout_ms = (grace_seconds + 30) * 1000L;
  const auto r =
      call("POST",
           prefix() + "/containers/" + url_escape(id) + "/stop?t=" + std::to_string(grace_seconds),
           nullptr, timeout_ms);
  if (r.status == 204 || r.status == 304 || r.status == 404) return;
  throw_for(r, "stop " + id);
}

void DockerEngine::logs(const std::string& id, const LogChunkFn& sink) {
  LogDemuxer demux(sink);
  const auto r =
      call("GET", prefix() + "/containers/" + url_escape(id) + "/logs?stdout=1&stderr=1&follow=0",
           nullptr, 60'000, [&](std::string_view bytes) { demux.feed(bytes); });
  if (r.status != 200) throw_for(r, "logs " + id);
}

namespace {
// Docker's `since`: Unix seconds with an optional fraction ("1732150000.123456789").
std::string unix_seconds(std::int64_t ns) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%lld.%09lld", static_cast<long long>(ns / 1'000'000'000),
                static_cast<long long>(ns % 1'000'000'000));
  return buf;
}
}  // namespace

void DockerEngine::stream_logs(const std::string& id, const LogOptions& opts,
                               const LogChunkFn& sink, const std::function<bool()>& keep_going) {
  stream_framed(prefix() + "/containers/" + url_escape(id), "logs " + id, opts, sink, keep_going);
}

void DockerEngine::service_logs(const std::string& name, const LogOptions& opts,
                                const LogChunkFn& sink, const std::function<bool()>& keep_going) {
  stream_framed(prefix() + "/services/" + url_escape(name), "service logs " + name, opts, sink,
                keep_going);
}

void DockerEngine::stream_framed(const std::string& object, const std::string& what,
                                 const LogOptions& opts, const LogChunkFn& sink,
                                 const std::function<bool()>& keep_going) {
  std::string path = object + "/logs?stdout=1&stderr=1" + "&follow=" + (opts.follow ? "1" : "0") +
                     "&timestamps=" + (opts.timestamps ? "1" : "0") +
                     "&tail=" + (opts.tail < 0 ? std::string("all") : std::to_string(opts.tail));
  if (opts.since_ns > 0) path += "&since=" + unix_seconds(opts.since_ns);
  // `sink` and keep_going run inside libcurl's callbacks, which must not
  // throw: the first exception is kept, ends the transfer and is rethrown.
  std::exception_ptr failure;
  bool stopped = false;  // keep_going() said no
  LogDemuxer demux(
      [&](LogStream stream, std::string_view bytes) {
        if (failure) return;
        try {
          sink(stream, bytes);
        } catch (...) {
          failure = std::current_exception();
        }
      },
      opts.timestamps);
  const std::function<bool()> go = [&] {
    if (failure || stopped) return false;
    try {
      stopped = keep_going && !keep_going();
    } catch (...) {
      failure = std::current_exception();
    }
    return !failure && !stopped;
  };
  // No time limit when following (the stream lasts as long as the container,
  // and a sink pacing a slow reader may take long); a minute otherwise, so a
  // hung engine cannot hold the caller forever.
  HttpResponse r;
  try {
    r = call(
        "GET", path, nullptr, opts.follow ? 0 : 60'000,
        [&](std::string_view bytes) { demux.feed(bytes); }, go);
  } catch (const EngineError&) {
    if (failure) std::rethrow_exception(failure);
    if (stopped) return;
    throw;
  }
  if (failure) std::rethrow_exception(failure);
  if (r.status != 200) throw_for(r, what);
}

std::vector<nlohmann::json> DockerEngine::get_list(const std::string& path,
                                                   const std::string& what) {
  const auto r = call("GET", prefix() + path);
  if (r.status != 200) throw_for(r, what);
  const auto doc = nlohmann::json::parse(r.body, nullptr, false);
  if (!doc.is_array())
    throw EngineError(EngineError::Kind::server, 200, what + ": the engine's answer is not a list");
  return std::vector<nlohmann::json>(doc.begin(), doc.end());
}

nlohmann::json DockerEngine::info() {
  const auto r = call("GET", prefix() + "/info", nullptr, 20'000);
  if (r.status != 200) throw_for(r, "info");
  auto doc = nlohmann::json::parse(r.body, nullptr, false);
  if (!doc.is_object())
    throw EngineError(EngineError::Kind::server, 200, "info: the engine's answer is not JSON");
  return doc;
}

std::string DockerEngine::create_service(const nlohmann::json& spec) {
  const std::string body = spec.dump();
  const auto r = call("POST", prefix() + "/services/create", &body);
  if (r.status != 201 && r.status != 200)
    throw_for(r, "create service " + spec.value("Name", std::string()));
  const auto doc = nlohmann::json::parse(r.body, nullptr, false);
  if (!doc.is_object() || !doc.contains("ID") || !doc["ID"].is_string())
    throw EngineError(EngineError::Kind::server, static_cast<int>(r.status),
                      "create service: no ID in the engine's answer");
  return doc["ID"].get<std::string>();
}

std::optional<nlohmann::json> DockerEngine::service(const std::string& name) {
  const auto r = call("GET", prefix() + "/services/" + url_escape(name));
  if (r.status == 404) return std::nullopt;
  if (r.status != 200) throw_for(r, "inspect service " + name);
  auto doc = nlohmann::json::parse(r.body, nullptr, false);
  if (!doc.is_object())
    throw EngineError(EngineError::Kind::server, 200, "inspect service: the answer is not JSON");
  return doc;
}

std::vector<nlohmann::json> DockerEngine::services(const nlohmann::json& filters) {
  return get_list("/services?filters=" + url_escape(filters.dump()), "list services");
}

void DockerEngine::remove_service(const std::string& name) {
  const auto r = call("DELETE", prefix() + "/services/" + url_escape(name));
  if (r.status != 200 && r.status != 204 && r.status != 404) throw_for(r, "remove service " + name);
}

std::vector<nlohmann::json> DockerEngine::tasks(const nlohmann::json& filters) {
  return get_list("/tasks?filters=" + url_escape(filters.dump()), "list tasks");
}

std::vector<nlohmann::json> DockerEngine::nodes() {
  return get_list("/nodes", "list nodes");
}

std::vector<ContainerSummary> DockerEngine::list(const std::string& label_key,
                                                 const std::string& label_value) {
  return list_filtered(nlohmann::json{{"label", {label_key + "=" + label_value}}});
}

std::vector<ContainerSummary> DockerEngine::list_exited(const std::string& label_key,
                                                        const std::string& label_value) {
  return list_filtered(
      nlohmann::json{{"label", {label_key + "=" + label_value}}, {"status", {"exited", "dead"}}});
}

std::vector<ContainerSummary> DockerEngine::list_filtered(const nlohmann::json& filters) {
  const auto r =
      call("GET", prefix() + "/containers/json?all=1&filters=" + url_escape(filters.dump()));
  if (r.status != 200) throw_for(r, "list containers");
  const auto doc = nlohmann::json::parse(r.body, nullptr, false);
  if (!doc.is_array())
    throw EngineError(EngineError::Kind::server, 200, "list containers: not a JSON array");
  std::vector<ContainerSummary> out;
  for (const auto& c : doc) {
    if (!c.is_object()) continue;
    ContainerSummary s;
    s.id = c.value("Id", "");
    s.state = c.value("State", "");
    if (auto names = c.find("Names");
        names != c.end() && names->is_array() && !names->empty() && (*names)[0].is_string()) {
      s.name = (*names)[0].get<std::string>();
      if (!s.name.empty() && s.name[0] == '/') s.name.erase(0, 1);
    }
    if (auto labels = c.find("Labels"); labels != c.end() && labels->is_object())
      for (const auto& [k, v] : labels->items())
        if (v.is_string()) s.labels[k] = v.get<std::string>();
    out.push_back(std::move(s));
  }
  return out;
}

void DockerEngine::watch_deaths(const std::string& instance,
                                const std::function<bool()>& keep_going, const DeathEvent& on_event,
                                const SignalEvent& on_signal) {
  const nlohmann::json filters{
      {"type", {"container"}},
      {"event", on_signal ? nlohmann::json{"die", "kill"} : nlohmann::json{"die"}},
      {"label", {"jobq.instance=" + instance}}};
  std::string pending;
  const auto r = call(
      "GET", prefix() + "/events?filters=" + url_escape(filters.dump()), nullptr, 0,
      [&](std::string_view bytes) {
        // One JSON object per line; only the job it names matters.
        pending.append(bytes);
        std::size_t nl;
        while ((nl = pending.find('\n')) != std::string::npos) {
          const std::string_view line = std::string_view(pending).substr(0, nl);
          const auto job = job_of_event(line);
          if (action_of_event(line) == "kill") {
            if (job && on_signal) on_signal(*job);
          } else {
            on_event(job);
          }
          pending.erase(0, nl + 1);
        }
        if (pending.size() > 1 << 20) pending.clear();
      },
      keep_going);
  if (r.status != 200) throw_for(r, "events");
  if (keep_going()) throw EngineError(EngineError::Kind::unreachable, 0, "the events stream ended");
}

std::optional<std::int64_t> DockerEngine::boot_time_ns() {
  const std::string& path = http_.socket_path();
  sockaddr_un addr{};
  if (path.empty() || path.size() >= sizeof addr.sun_path) return std::nullopt;  // TCP: not known
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  ucred cred{};
  socklen_t len = sizeof cred;
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0 &&
                  ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.pid > 0;
  ::close(fd);
  if (!ok) return std::nullopt;
  const std::string proc = "/proc/" + std::to_string(cred.pid);
  std::ifstream comm(proc + "/comm");
  std::string name;
  // Socket activation makes the listener systemd's: its start says nothing.
  if (!std::getline(comm, name) || name != "dockerd") return std::nullopt;
  std::ifstream statf(proc + "/stat");
  std::string stat;
  if (!std::getline(statf, stat)) return std::nullopt;
  const auto paren = stat.rfind(')');
  if (paren == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  unsigned long long start_ticks = 0;
  for (int i = 3; i <= 22 && fields >> field; ++i)
    if (i == 22)  // starttime: clock ticks after the machine's boot
      start_ticks = std::strtoull(field.c_str(), nullptr, 10);
  // When the machine booted, by the wall clock: now less the time since boot
  // (CLOCK_BOOTTIME, the clock a process's starttime counts on), to the
  // nanosecond. /proc/stat's btime is whole seconds: an engine restarted
  // within a second of a run's start could be taken as older than the run.
  timespec real{}, boot{};
  if (::clock_gettime(CLOCK_REALTIME, &real) != 0 || ::clock_gettime(CLOCK_BOOTTIME, &boot) != 0)
    return std::nullopt;
  const std::int64_t booted_ns =
      (real.tv_sec - boot.tv_sec) * 1'000'000'000LL + (real.tv_nsec - boot.tv_nsec);
  const long hz = ::sysconf(_SC_CLK_TCK);
  if (start_ticks == 0 || hz <= 0) return std::nullopt;
  return booted_ns + static_cast<std::int64_t>(start_ticks) * (1'000'000'000LL / hz);
}

namespace {
// An image reference in a URL path: Docker's router takes its '/' and ':' as they are.
std::string image_path(const std::string& image) {
  std::string out;
  for (const char ch : image) {
    if (ch == '/' || ch == ':' || ch == '@') {
      out += ch;
    } else {
      out += url_escape(std::string(1, ch));
    }
  }
  return out;
}
}  // namespace

bool DockerEngine::has_image(const std::string& image) {
  const auto r = call("GET", prefix() + "/images/" + image_path(image) + "/json", nullptr, 30'000);
  if (r.status == 200) return true;
  if (r.status == 404) return false;
  throw_for(r, "inspect image " + image);
}

void DockerEngine::pull(const std::string& image, const std::string& registry_auth,
                        const PullProgressFn& progress, const std::function<bool()>& keep_going) {
  const auto [from, tag] = pull_reference(image);
  std::vector<std::string> headers;
  if (!registry_auth.empty()) headers.push_back("X-Registry-Auth: " + registry_auth);
  // One JSON object a line; an error may come in the stream after a 200.
  std::string pending;
  std::optional<std::string> error;
  std::exception_ptr failure;  // from `progress`: must not cross libcurl
  const auto line_done = [&](std::string_view line) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
    if (line.empty()) return;
    PullLine parsed = parse_pull_line(line);
    if (parsed.error && !error) error = std::move(parsed.error);
    if (parsed.progress && progress && !failure) {
      try {
        progress(*parsed.progress);
      } catch (...) {
        failure = std::current_exception();
      }
    }
  };
  const auto r = call(
      "POST", prefix() + "/images/create?fromImage=" + url_escape(from) + "&tag=" + url_escape(tag),
      nullptr, 0,
      [&](std::string_view bytes) {
        pending.append(bytes);
        std::size_t nl;
        while ((nl = pending.find('\n')) != std::string::npos) {
          line_done(std::string_view(pending).substr(0, nl));
          pending.erase(0, nl + 1);
        }
        if (pending.size() > (1u << 20)) pending.clear();
      },
      keep_going ? keep_going : std::function<bool()>([] { return true; }), headers);
  line_done(pending);
  if (failure) std::rethrow_exception(failure);
  if (r.status != 200) throw_for(r, "pull " + image);
  if (error) throw EngineError(EngineError::Kind::rejected, 200, "pull " + image + ": " + *error);
}

void DockerEngine::remove(const std::string& id) {
  const auto r = call("DELETE", prefix() + "/containers/" + url_escape(id) + "?force=1&v=1");
  if (r.status == 204 || r.status == 404) return;
  throw_for(r, "remove " + id);
}

ImageCommand DockerEngine::image_command(const std::string& image) {
  const auto r = call("GET", prefix() + "/images/" + image_path(image) + "/json", nullptr, 30'000);
  if (r.status != 200) throw_for(r, "inspect image " + image);
  const auto doc = nlohmann::json::parse(r.body, nullptr, false);
  ImageCommand out;
  if (doc.is_object() && doc.contains("Id") && doc["Id"].is_string()) out.id = doc["Id"];
  if (doc.is_object() && doc.contains("Config") && doc["Config"].is_object()) {
    out.entrypoint = string_list(doc["Config"].value("Entrypoint", nlohmann::json()));
    out.cmd = string_list(doc["Config"].value("Cmd", nlohmann::json()));
  }
  return out;
}

}  // namespace jobq
