#include "jobqd.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include "base/config_file.hpp"
#include "base/daemon_log.hpp"
#include "base/paths.hpp"
#include "base/suggest.hpp"
#include "base/systemd.hpp"
#include "base/time_util.hpp"
#include "commands/dispatch.hpp"
#include "exec/executor.hpp"
#include "runtime/docker/docker_engine.hpp"
#include "runtime/docker/docker_runtime.hpp"
#include "runtime/docker/registry_auth.hpp"
#include "server/access.hpp"

namespace jobq {

namespace {

// Read when it exists; --config names another file, which must exist.
constexpr const char* kDefaultConfigFile = "/etc/jobq/jobqd.conf";

struct Options {
  std::string config;  // --config; "" = kDefaultConfigFile if it exists
  std::string socket;
  std::string state_dir;
  int max_running = 0;
  int launch_workers = 4;
  int max_pulls = 2;
  std::string poll_interval = "1s";
  std::string stop_grace = "10s";
  std::string idle_timeout = "60s";
  std::string log_cap = "8M";
  bool keep_containers = false;
  std::string log_level = "info";
  std::string socket_group;
  std::string admin_group;
  std::size_t max_connections = 1024;
  std::size_t max_follows = 64;
  std::size_t follows_per_user = 8;
  std::size_t engine_calls_per_user = 4;
  std::size_t max_connections_per_user = 0;  // 0: a quarter of max_connections
  std::string max_request = "1M";
  std::string max_user_buffer = "64M";
  std::string request_timeout = "30s";
  std::string retention = "30d";  // finished jobs and their output; "0" keeps them forever
  std::string engine;  // unix:///path of dockerd's socket; "" = $DOCKER_HOST or the default
};

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

// One jobqd per state directory: an exclusive lock held for our lifetime.
int lock_state_dir(const std::string& dir) {
  const std::string path = dir + "/jobqd.lock";
  const int fd = open_private_file(path);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char buf[32] = {};
    [[maybe_unused]] auto n = ::pread(fd, buf, sizeof buf - 1, 0);
    throw std::runtime_error("another jobqd (pid " + std::string(buf[0] ? buf : "?") +
                             ") is already using the state directory " + dir);
  }
  const std::string pid = std::to_string(::getpid());
  if (::ftruncate(fd, 0) == 0) {
    [[maybe_unused]] auto n = ::pwrite(fd, pid.data(), pid.size(), 0);
  }
  return fd;
}

// Room for --max-connections clients plus the daemon's own files, and as
// much beyond as the hard limit allows: admins are admitted past
// --max-connections, and a refused client costs a descriptor until closed.
void raise_fd_limit(std::size_t connections) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  if (lim.rlim_cur < lim.rlim_max) {
    lim.rlim_cur = lim.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &lim);
  }
  if (lim.rlim_cur < static_cast<rlim_t>(connections) + 256)
    spdlog::warn(
        "the open-file limit ({}) is lower than --max-connections + 256; raise LimitNOFILE",
        static_cast<unsigned long long>(lim.rlim_cur));
}

// Tells systemd (Type=notify) where we are; a failure is logged, not fatal.
void notify_systemd(const std::string& state) {
  try {
    systemd::notify(state);
  } catch (const std::exception& e) {
    spdlog::warn("{}", e.what());
  }
}

// The listening socket systemd passed (jobqd.socket), or -1 when none was.
int socket_from_systemd(const Options& o) {
  const std::vector<int> fds = systemd::take_listen_fds();
  if (fds.empty()) return -1;
  if (fds.size() > 1)
    throw std::runtime_error(
        "systemd passed " + std::to_string(fds.size()) +
        " sockets; jobqd serves exactly one (one ListenStream= in jobqd.socket)");
  if (!o.socket.empty() || !o.socket_group.empty())
    spdlog::info(
        "serving the socket passed by systemd; --socket and --socket-group do not apply to it "
        "(its path, mode and group are set in jobqd.socket)");
  return fds.front();
}

int serve(const Options& o) {
  const int passed_fd = socket_from_systemd(o);
  const std::string state_dir = resolve_state_dir(o.state_dir);
  std::string socket_path = resolve_socket_path(o.socket);
  if (passed_fd >= 0) {
    socket_path = SocketServer::listening_socket_name(
        passed_fd);  // throws unless a listening Unix stream socket
    if (socket_path.empty()) socket_path = "(an unnamed socket passed by systemd)";
  }
  raise_fd_limit(o.max_connections);
  AccessPolicy access;
  access.daemon_uid = ::geteuid();
  if (!o.admin_group.empty()) {
    access.admin_gid = group_id(o.admin_group);
    access.admin_group = o.admin_group;
  }
  std::optional<gid_t> socket_gid;
  if (!o.socket_group.empty()) socket_gid = group_id(o.socket_group);
  make_dirs(state_dir, 0700);
  check_state_dir(state_dir);
  const int lock_fd = lock_state_dir(state_dir);
  ::close(open_private_file(state_dir + "/jobq.db"));  // born 0600, never through a link
  const auto slash = socket_path.rfind('/');
  if (passed_fd < 0 && slash != std::string::npos && slash > 0)
    make_dirs(socket_path.substr(0, slash), 0755);

  // Signals go to one thread (sigwait), never to a handler in a random one.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  ::signal(SIGPIPE, SIG_IGN);

  Store store(state_dir + "/jobq.db");
  const auto runtime_owned = make_docker_runtime(
      o.engine.empty() ? docker_socket_from_env() : engine_socket_path(o.engine), store.instance());
  Runtime& runtime = *runtime_owned;
  try {
    spdlog::info("Docker engine reachable, API {}", runtime.api_version());
  } catch (const EngineError& e) {
    spdlog::warn("{}; jobs are accepted and will start when the engine answers", e.what());
  }

  PendingReplies waits;
  Metrics metrics;
  // Client-asked work, shared fairly per uid (fair_pool.hpp): engine reads
  // (live logs) and store scans (stats, prune) in pools of their own.
  FairPool engine_calls({4, o.engine_calls_per_user, 1});
  // Store scans (list pages, stats, prune): a user may have 8 in flight.
  FairPool store_scans({2, 8, 1});
  ExecutorOptions eopts;
  eopts.poller.interval = duration_option("--poll-interval", o.poll_interval);
  eopts.poller.stop_grace_seconds = static_cast<int>(
      std::max<long long>(1, duration_option("--stop-grace", o.stop_grace).count() / 1000));
  eopts.poller.log_cap = size_option("--log-cap", o.log_cap);
  eopts.poller.keep_containers = o.keep_containers;
  eopts.poller.metrics = &metrics;
  eopts.puller.workers = o.max_pulls;
  eopts.puller.auth = registry_auth_for;
  eopts.runner.global_max_running = o.max_running;
  eopts.runner.launch_workers = o.launch_workers;
  eopts.runner.keep_containers = o.keep_containers;
  eopts.runner.metrics = &metrics;
  eopts.retention = retention_option(o.retention);
  Executor exec(store, runtime, eopts, [&](std::int64_t) { waits.notify(); });
  Runner& runner = exec.runner();

  LogFollowers followers(store, runtime, o.max_follows, o.follows_per_user);
  EnqueueCommitter committer(store, [&] { runner.kick(); });
  DaemonContext ctx{
      store,
      runtime,
      runner,
      exec.poller(),
      waits,
      engine_calls,
      store_scans,
      exec.health(),
      followers,
      metrics,
      committer,
      exec.puller(),
      DaemonInfo{socket_path, state_dir, now_rfc3339(), o.max_running, access, eopts.poller.log_cap,
                 eopts.retention.count(), size_option("--max-request", o.max_request)}};
  SocketServer::Options sopts;
  sopts.path = socket_path;
  sopts.idle_timeout = duration_option("--idle-timeout", o.idle_timeout);
  sopts.request_timeout = duration_option("--request-timeout", o.request_timeout);
  sopts.max_line = size_option("--max-request", o.max_request);
  sopts.max_connections = o.max_connections;
  sopts.max_connections_per_user = o.max_connections_per_user != 0
                                       ? o.max_connections_per_user
                                       : std::max<std::size_t>(1, o.max_connections / 4);
  sopts.max_user_bytes = size_option("--max-user-buffer", o.max_user_buffer);
  if (sopts.max_user_bytes < sopts.max_line)
    throw std::runtime_error("--max-user-buffer (" + o.max_user_buffer +
                             ") must be at least --max-request (" + o.max_request + ")");
  sopts.privileged = [&access](const PeerCred& peer) { return is_admin(access, peer); };
  sopts.group = socket_gid;
  sopts.adopt_fd = passed_fd;
  SocketServer server(sopts, [&ctx](std::string line, const PeerCred& peer, Responder reply) {
    dispatch_request(ctx, line, peer, reply);
  });
  server.listen();

  std::atomic<bool> stop{false};
  std::thread signal_thread([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    spdlog::info("received {}; stopping (running containers keep running)", strsignal(sig));
    stop = true;
    server.wake();
    // A second signal forces the exit.
    sigwait(&signals, &sig);
    spdlog::warn("second signal: exiting now");
    ::_exit(130);
  });
  signal_thread.detach();

  waits.start();
  committer.start();
  exec.start();  // asks the engine once first, so status has an answer from the first request on
  spdlog::info("jobqd {} listening on {}{} (state in {}, instance {})", JOBQ_VERSION, socket_path,
               passed_fd >= 0 ? " (passed by systemd)" : "", state_dir, store.instance());
  notify_systemd("READY=1\nSTATUS=listening on " + socket_path);
  std::exception_ptr failure;
  try {
    server.run(stop);
  } catch (...) {
    failure = std::current_exception();  // still stop every part in order below
  }
  notify_systemd("STOPPING=1\nSTATUS=stopping");

  committer.stop();  // what was acknowledged is committed; the rest was never acknowledged
  followers.stop();
  exec.stop();  // launches in flight commit; queued ones resume next start
  waits.stop();
  engine_calls.stop();
  store_scans.stop();
  ::close(lock_fd);
  if (failure) std::rethrow_exception(failure);
  spdlog::info("stopped");
  return 0;
}

}  // namespace

int jobqd_main(int argc, char** argv) {
  Options o;
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
  app.add_flag("--keep-containers", o.keep_containers,
               "Leave finished containers in place for debugging");
  app.add_option("--log-level", o.log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  if (auto code = parse_options(app, o, argc, argv)) return *code;
  setup_daemon_log(o.log_level);
  try {
    return serve(o);
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
}

}  // namespace jobq
