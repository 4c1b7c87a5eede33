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
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "base/daemon_log.hpp"
#include "base/paths.hpp"
#include "base/systemd.hpp"
#include "base/time_util.hpp"
#include "commands/dispatch.hpp"
#include "exec/executor.hpp"
#include "options.hpp"
#include "runtime/docker/docker_engine.hpp"
#include "runtime/docker/docker_runtime.hpp"
#include "runtime/docker/registry_auth.hpp"
#include "runtime/swarm/swarm_runtime.hpp"
#include "server/access.hpp"

namespace jobq {

namespace {

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

// jobq-warm: --warm-helper, else next to jobqd (a build tree), else where
// the package installs it; "" when there is none (no warm containers).
std::string warm_helper(const Options& o) {
  if (!o.warm_helper.empty()) {
    // Missing, it costs the warm containers, not jobqd's start.
    if (::access(o.warm_helper.c_str(), X_OK) == 0) return o.warm_helper;
    spdlog::warn("--warm-helper {} is not an executable file", o.warm_helper);
    return "";
  }
  std::error_code ec;
  const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  for (const std::string& p :
       {ec ? std::string() : (self.parent_path() / "jobq-warm-static").string(),
        std::string(JOBQ_LIBEXEC_DIR) + "/jobq-warm-static"})
    if (!p.empty() && ::access(p.c_str(), X_OK) == 0) return p;
  return "";
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
  // The hand-off directories are always known, so that warm runs of an
  // earlier jobqd are read (and its pools removed) even without new ones.
  WarmOptions warm;
  make_dirs(warm.root = state_dir + "/warm", 0700);
  if (o.max_warm > 0) {
    warm.helper = warm_helper(o);
    if (warm.helper.empty())
      spdlog::warn("no jobq-warm-static found (--warm-helper): no warm containers");
  }
  const auto runtime_owned = make_docker_runtime(
      o.engine.empty() ? docker_socket_from_env() : engine_socket_path(o.engine), store.instance(),
      warm);
  Runtime& runtime = *runtime_owned;
  // The swarm runtime's manager: --swarm-host, else the same engine.
  SwarmOptions swarm_opts;
  swarm_opts.stop_grace_seconds = static_cast<int>(
      std::max<long long>(1, duration_option("--stop-grace", o.stop_grace).count() / 1000));
  const std::string docker_address =
      "unix://" + (o.engine.empty() ? docker_socket_from_env() : engine_socket_path(o.engine));
  SwarmRuntime swarm(std::make_unique<DockerEngine>(parse_engine_address(
                         o.swarm_host.empty() ? docker_address : o.swarm_host, o.swarm_tls_dir)),
                     store.instance(), swarm_opts);
  Runtimes runtimes{&runtime, &swarm};
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
  eopts.scheduler.metrics = &metrics;
  eopts.retention = retention_option(o.retention);
  eopts.warm.max_warm = o.max_warm;
  eopts.warm.idle_ttl = duration_option("--warm-ttl", o.warm_ttl);
  Executor exec(store, runtimes, eopts, [&](std::int64_t) { waits.notify(); });
  Runner& runner = exec.runner();

  LogFollowers followers(store, runtimes, o.max_follows, o.follows_per_user);
  EnqueueCommitter committer(store, [&] { runner.kick(); });
  DaemonContext ctx{
      store,
      runtimes,
      exec,
      runner,
      waits,
      engine_calls,
      store_scans,
      followers,
      metrics,
      committer,
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
  if (auto code = parse_command_line(o, argc, argv)) return *code;
  setup_daemon_log(o.log_level);
  try {
    return serve(o);
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return 1;
  }
}

}  // namespace jobq
