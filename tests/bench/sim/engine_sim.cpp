// engine_sim: a small stand-in for the Docker Engine API on a Unix socket, for
// benchmarks. It answers the calls jobqd makes (docker_api.hpp) and keeps its
// containers in memory (container_model.hpp): a started container "runs" for
// --run-ms (or until stopped), then exits with --exit-code. Nothing is
// executed, so thousands of running containers cost next to nothing.
//
// This file is the options and the wiring: the HTTP server (http_server.hpp,
// a thread per connection), the model's timer thread, and the main thread,
// which waits for a signal. It prints nothing but errors and exits by itself
// after --max-seconds (or on SIGTERM/SIGINT/SIGHUP), removing its socket.
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <string>
#include <thread>

#include "container_model.hpp"
#include "docker_api.hpp"
#include "http_server.hpp"

namespace {

using SteadyClock = std::chrono::steady_clock;

struct Options {
  std::string socket;
  std::string api = "1.41";
  long latency_ms = 0;
  long run_ms = 1000;  // -1: until stopped
  int exit_code = 0;
  long max_seconds = 600;
};
Options g_opts;

[[noreturn]] void usage(const char* why) {
  if (why) std::fprintf(stderr, "engine_sim: %s\n", why);
  std::fprintf(stderr,
               "usage: engine_sim --socket PATH [--api 1.41] [--latency-ms N] [--run-ms N|-1]\n"
               "                  [--exit-code N] [--max-seconds S]\n");
  std::exit(2);
}

long number(const std::string& opt, const std::string& v, long min, long max) {
  char* endp = nullptr;
  errno = 0;
  const long n = std::strtol(v.c_str(), &endp, 10);
  if (v.empty() || *endp != '\0' || errno != 0 || n < min || n > max)
    usage(
        (opt + ": not a number in [" + std::to_string(min) + ", " + std::to_string(max) + "]: " + v)
            .c_str());
  return n;
}

void parse_args(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i], value;
    if (arg == "-h" || arg == "--help") usage(nullptr);
    if (const auto eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.erase(eq);
    } else {
      if (i + 1 >= argc) usage((arg + " needs a value").c_str());
      value = argv[++i];
    }
    if (arg == "--socket")
      g_opts.socket = value;
    else if (arg == "--api")
      g_opts.api = value;
    else if (arg == "--latency-ms")
      g_opts.latency_ms = number(arg, value, 0, 3'600'000);
    else if (arg == "--run-ms")
      g_opts.run_ms = number(arg, value, -1, 365L * 86'400'000);
    else if (arg == "--exit-code")
      g_opts.exit_code = static_cast<int>(number(arg, value, 0, 255));
    else if (arg == "--max-seconds")
      g_opts.max_seconds = number(arg, value, 1, 365L * 86'400);
    else
      usage(("unknown option " + arg).c_str());
  }
  if (g_opts.socket.empty()) usage("--socket is required");
  if (g_opts.api.empty() || !std::isdigit(static_cast<unsigned char>(g_opts.api[0])))
    usage("--api: expected a version such as 1.41");
}

}  // namespace

int main(int argc, char** argv) {
  parse_args(argc, argv);
  // Signals are taken by the main thread only (sigtimedwait below); every
  // other thread inherits this mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  const int listener = sim::http::listen_unix(g_opts.socket, "engine_sim");
  static sim::State state;
  state.run_ms = g_opts.run_ms;
  state.exit_code = g_opts.exit_code;
  static sim::DockerApi api(state, {g_opts.api, g_opts.latency_ms});
  auto service = std::make_shared<const sim::http::Service>(
      sim::http::Service{"engine_sim", api.reply_headers(),
                         [](sim::http::Connection& conn, const sim::http::Request& r) {
                           return api.handle(conn, r);
                         }});
  std::thread([] { sim::timer_loop(state); }).detach();
  std::thread(sim::http::accept_loop, listener, service).detach();

  const auto deadline = SteadyClock::now() + std::chrono::seconds(g_opts.max_seconds);
  for (;;) {
    const auto left = deadline - SteadyClock::now();
    if (left <= SteadyClock::duration::zero()) break;
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(left);
    const timespec ts{
        static_cast<std::time_t>(secs.count()),
        static_cast<long>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(left - secs).count())};
    const int sig = sigtimedwait(&stop_signals, nullptr, &ts);
    if (sig > 0) break;
    if (sig < 0 && errno != EINTR && errno != EAGAIN) break;
  }
  ::unlink(g_opts.socket.c_str());
  // Connection threads may be mid-request: leave without running destructors.
  std::_Exit(0);
}
