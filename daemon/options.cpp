#include "options.hpp"

#include <cstdio>
#include <functional>
#include <vector>

#include <CLI/CLI.hpp>

#include "base/config_file.hpp"
#include "base/daemon_log.hpp"
#include "base/suggest.hpp"
#include "base/time_util.hpp"
#include "runtime/docker/docker_engine.hpp"
#include "wire/protocol.hpp"

namespace jobq {

namespace {
// Read when it exists; --config names another file, which must exist.
constexpr const char* kDefaultConfigFile = "/etc/jobq/jobqd.conf";
}  // namespace

std::chrono::milliseconds duration_option(const std::string& name, const std::string& value) {
  auto d = parse_duration(value);
  if (!d || d->count() <= 0)
    throw CLI::ValidationError(name, "'" + value + "' is not a duration (e.g. 500ms, 10s, 5m)");
  return *d;
}

std::size_t size_option(const std::string& name, const std::string& value) {
  std::size_t pos = 0;
  unsigned long long n = 0;
  try {
    n = std::stoull(value, &pos);
  } catch (...) {
    throw CLI::ValidationError(name, "'" + value + "' is not a size (e.g. 65536, 512K, 8M)");
  }
  const std::string unit = value.substr(pos);
  if (unit == "K" || unit == "k")
    n <<= 10;
  else if (unit == "M" || unit == "m")
    n <<= 20;
  else if (unit == "G" || unit == "g")
    n <<= 30;
  else if (!unit.empty())
    throw CLI::ValidationError(name, "unknown size unit '" + unit + "'");
  return static_cast<std::size_t>(n);
}

// 0 keeps finished jobs forever.
std::chrono::milliseconds retention_option(const std::string& value) {
  if (value == "0") return std::chrono::milliseconds(0);
  return duration_option("--retention", value);
}

namespace {

// The checks above as CLI11 validators, so that a value is checked the same
// way from the command line and from the configuration file.
CLI::Validator checked_by(std::function<void(const std::string&)> check, const std::string& type) {
  return CLI::Validator(
      [check](std::string& value) -> std::string {
        try {
          check(value);
        } catch (const CLI::ValidationError& e) {
          const std::string what = e.what();
          const auto colon = what.find(": ");  // drop the option name: CLI11 adds it again
          return colon == std::string::npos ? what : what.substr(colon + 2);
        } catch (const std::exception& e) {
          return e.what();
        }
        return "";
      },
      type);
}

// The options a configuration file may set: all but these.
bool configurable(const CLI::Option& opt) {
  for (const auto& name : opt.get_lnames())
    if (name == "config" || name == "help" || name == "version") return false;
  return !opt.get_lnames().empty();
}

// Sets the options from the configuration file's entries, each checked as
// its command-line option would be; an error names the file and line.
void apply_config(CLI::App& app, const std::string& path, const std::vector<ConfigEntry>& entries) {
  std::vector<std::string> keys;
  for (const CLI::Option* opt : app.get_options())
    if (configurable(*opt)) keys.push_back(normalize_config_key(opt->get_lnames().front()));
  std::map<std::string, int> seen;
  for (const auto& entry : entries) {
    const std::string key = normalize_config_key(entry.key);
    std::string name = "--" + key;
    std::replace(name.begin(), name.end(), '_', '-');
    CLI::Option* opt = app.get_option_no_throw(name);
    if (!opt || !configurable(*opt)) {
      const std::string near = nearest_name(key, keys);
      throw ConfigFileError(path, entry.line,
                            "unknown key '" + entry.key + "'" +
                                (near.empty() ? "" : " (did you mean " + near + "?)"));
    }
    if (auto [it, fresh] = seen.emplace(key, entry.line); !fresh)
      throw ConfigFileError(
          path, entry.line,
          "'" + key + "' is set twice (also at line " + std::to_string(it->second) + ")");
    try {
      if (opt->get_expected_min() == 0) {  // a flag: true or false
        if (entry.value != "true" && entry.value != "false")
          throw CLI::ValidationError(name, "'" + entry.value + "' is not true or false");
      }
      opt->clear();
      opt->add_result(entry.value);
      opt->run_callback();
    } catch (const CLI::ParseError& e) {
      std::string what = e.what();
      if (what.rfind(name + ": ", 0) == 0) what.erase(0, name.size() + 2);
      throw ConfigFileError(path, entry.line, "bad value for " + key + ": " + what);
    }
  }
}

// Parses the command line over the configuration file: the file's settings
// first, then the command line again, so that flags override the file.
// Returns nullopt to go on, or the exit code (0 after --help or --version,
// 64 for any error).
std::optional<int> parse_options(CLI::App& app, const Options& o, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 64;
  }
  const bool given = !o.config.empty();
  const std::string path = given ? o.config : kDefaultConfigFile;
  try {
    if (auto entries = read_config_file(path, !given)) {
      apply_config(app, path, *entries);
      app.clear();
      app.parse(argc, argv);
    }
  } catch (const ConfigFileError& e) {
    // Before the log is set up; still an error in the journal.
    const char* priority = daemon_log_style() == LogStyle::journal ? "<3>" : "";
    std::fprintf(stderr, "%sjobqd: %s\n", priority, e.what());
    return 64;
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 64;
  }
  return std::nullopt;
}
}  // namespace

std::optional<int> parse_command_line(Options& o, int argc, char** argv) {
  CLI::App app{
      "jobqd: the jobq daemon. Keeps jobs in SQLite and runs each one as a Docker container."};
  app.set_version_flag("--version", std::string("jobqd ") + JOBQ_VERSION);
  app.add_option("--config", o.config,
                 std::string("Configuration file: 'key = value' lines, keys as the options below "
                             "(e.g. max_running = 4); options given here override it (default: ") +
                     kDefaultConfigFile + ", if it exists)");
  app.add_option("--socket", o.socket,
                 "Unix socket to listen on (default: $JOBQ_SOCKET, "
                 "/run/jobq/jobq.sock for root, $XDG_RUNTIME_DIR/jobq/jobq.sock otherwise)");
  app.add_option("--state-dir", o.state_dir,
                 "Directory of the database (default: $JOBQ_STATE_DIR, "
                 "/var/lib/jobq for root, $XDG_STATE_HOME/jobq otherwise)");
  app.add_option("--max-running", o.max_running,
                 "Containers running at once across all applications (0 = unlimited)")
      ->check(CLI::Range(0, 100000));
  app.add_option("--launch-workers", o.launch_workers, "Launches in parallel")
      ->check(CLI::Range(1, 64));
  app.add_option("--max-pulls", o.max_pulls,
                 "Image pulls at once (each image is pulled by one at a time); launches never wait "
                 "for them")
      ->check(CLI::Range(1, 64));
  const auto duration = [](const char* name) {
    return checked_by([name](const std::string& v) { duration_option(name, v); }, "DURATION");
  };
  const auto size = [](const char* name) {
    return checked_by([name](const std::string& v) { size_option(name, v); }, "SIZE");
  };
  app.add_option("--poll-interval", o.poll_interval, "How often running containers are inspected")
      ->check(duration("--poll-interval"));
  app.add_option("--stop-grace", o.stop_grace,
                 "Time between SIGTERM and SIGKILL when a job is cancelled")
      ->check(duration("--stop-grace"));
  app.add_option("--idle-timeout", o.idle_timeout, "Close client connections idle this long")
      ->check(duration("--idle-timeout"));
  app.add_option("--socket-group", o.socket_group,
                 "Group of the socket (mode 0660): its members may use jobq");
  app.add_option("--admin-group", o.admin_group,
                 "Members may create, change and delete applications and act on any job "
                 "(root and jobqd's own user always may)");
  app.add_option("--max-connections", o.max_connections, "Clients connected at once")
      ->check(CLI::Range(1, 65536));
  app.add_option("--max-follows", o.max_follows,
                 "'jobq logs -f' running at once, all users together")
      ->check(CLI::Range(1, 4096));
  app.add_option("--follows-per-user", o.follows_per_user,
                 "'jobq logs -f' one user may run at once (admins: up to --max-follows)")
      ->check(CLI::Range(1, 4096));
  app.add_option("--engine-calls-per-user", o.engine_calls_per_user,
                 "Requests one user may have reading from the engine at once, queued or running "
                 "(logs of running jobs); more are refused")
      ->check(CLI::Range(1, 1024));
  app.add_option("--max-connections-per-user", o.max_connections_per_user,
                 "Connections one user may hold (default: a quarter of --max-connections; admins "
                 "are not limited)")
      ->check(CLI::Range(1, 65536));
  app.add_option("--max-request", o.max_request, "Largest request line, e.g. 1M (at most 64M)")
      ->check(size("--max-request"))
      ->check(checked_by(
          [](const std::string& v) {
            if (size_option("--max-request", v) > kMaxRequestLimit)
              throw CLI::ValidationError("--max-request", "'" + v + "' is over the most, 64M");
          },
          "SIZE"));
  app.add_option("--max-user-buffer", o.max_user_buffer,
                 "Request and unsent reply bytes one user's connections may hold, e.g. 64M")
      ->check(size("--max-user-buffer"));
  app.add_option("--request-timeout", o.request_timeout,
                 "Time a client has to finish sending a request")
      ->check(duration("--request-timeout"));
  app.add_option("--log-cap", o.log_cap, "Output kept per job and stream (the tail), e.g. 8M")
      ->check(size("--log-cap"));
  app.add_option("--retention", o.retention,
                 "How long finished jobs and their output are kept, e.g. 30d (0 = forever)")
      ->check(checked_by([](const std::string& v) { retention_option(v); }, "DURATION"));
  app.add_option(
         "--engine", o.engine,
         "Docker engine socket, unix:///path (default: $DOCKER_HOST, else /var/run/docker.sock)")
      ->check(checked_by(
          [](const std::string& v) {
            if (!v.empty()) engine_socket_path(v);
          },
          "URL"));
  app.add_option("--swarm-host", o.swarm_host,
                 "Swarm manager for applications with --runtime swarm: unix:///path or "
                 "tcp://HOST:PORT (default: the Docker engine's socket)")
      ->check(checked_by(
          [](const std::string& v) {
            if (!v.empty()) parse_engine_address(v);
          },
          "URL"));
  app.add_option("--swarm-tls-dir", o.swarm_tls_dir,
                 "With a tcp:// --swarm-host: a directory with ca.pem, cert.pem and key.pem "
                 "(as DOCKER_CERT_PATH); the manager's certificate is checked against ca.pem");
  app.add_option("--max-warm", o.max_warm,
                 "Warm containers kept in all, for applications with --warm (0: none)")
      ->check(CLI::Range(0, 10000));
  app.add_option("--warm-ttl", o.warm_ttl,
                 "An idle warm container older than this is replaced (or, for a pool that "
                 "shrank, removed)")
      ->check(duration("--warm-ttl"));
  app.add_option("--warm-helper", o.warm_helper,
                 "The warm containers' entrypoint, jobq-warm-static (default: next to jobqd, else "
                 "where the package installs it)");
  app.add_flag("--keep-containers", o.keep_containers,
               "Leave finished containers in place for debugging");
  app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  return parse_options(app, o, argc, argv);
}

}  // namespace jobq
