// jobq-warm: the entrypoint of a warm container (runtime/docker/warm_pool.hpp).
// It waits, idle, for its job in /.jobq/handoff/job (a read-only mount of a
// directory only jobqd writes, written whole by a rename), then becomes the
// job's command: execvp with the job's environment on top of the
// container's. From then on the container's process, exit code, OOM kill,
// output and FinishedAt are the job's, as in a container started for it.
//
// The job file: NUL-terminated fields, "jobq-warm 1", the argument count,
// the arguments, the count of environment entries, the entries ("K=V").
//
// Exit codes of its own, as a shell's: 127 when the command is not found,
// 126 when it cannot be run, 125 for a job file it cannot read; 128+N when
// signal N (TERM, INT) ends it while it waits. Statically linked: it runs
// in any image, distroless or scratch.
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr const char* kDir = "/.jobq/handoff";
constexpr const char* kJob = "/.jobq/handoff/job";
constexpr const char* kMagic = "jobq-warm 1";

void say(const std::string& text) {
  const std::string line = "jobq-warm: " + text + "\n";
  [[maybe_unused]] const auto n = write(STDERR_FILENO, line.data(), line.size());
}

extern "C" void on_signal(int sig) {
  _exit(128 + sig);
}

// The whole file, or false when it is not there yet.
bool read_job(std::string& out) {
  const int fd = open(kJob, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return false;
    say(std::string("cannot open its job: ") + std::strerror(errno));
    _exit(125);
  }
  char buf[65536];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      say(std::string("cannot read its job: ") + std::strerror(errno));
      _exit(125);
    }
    if (n == 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  close(fd);
  return true;
}

// Waits for the job file: an inotify watch on its directory, with a look
// every second in case the events do not come (a file system without them).
std::string wait_for_job() {
  const int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (in >= 0) inotify_add_watch(in, kDir, IN_MOVED_TO | IN_CLOSE_WRITE | IN_CREATE);
  std::string job;
  while (!read_job(job)) {
    if (in < 0) {
      usleep(50'000);
      continue;
    }
    pollfd p{in, POLLIN, 0};
    if (poll(&p, 1, 1000) > 0) {
      char events[4096];
      while (read(in, events, sizeof events) > 0) {
      }
    }
  }
  if (in >= 0) close(in);
  return job;
}

// The fields of a job file; false when it is malformed.
bool parse(const std::string& text, std::vector<std::string>& argv, std::vector<std::string>& env) {
  std::vector<std::string> fields;
  std::size_t at = 0;
  while (at < text.size()) {
    const std::size_t end = text.find('\0', at);
    if (end == std::string::npos) return false;  // a field without its terminator
    fields.emplace_back(text, at, end - at);
    at = end + 1;
  }
  std::size_t i = 0;
  auto count = [&](std::size_t& n) {
    if (i >= fields.size()) return false;
    char* end = nullptr;
    n = std::strtoul(fields[i].c_str(), &end, 10);
    return !fields[i++].empty() && *end == '\0' && n <= fields.size();
  };
  if (fields.empty() || fields[i++] != kMagic) return false;
  std::size_t argc = 0;
  if (!count(argc) || argc == 0 || i + argc > fields.size()) return false;
  argv.assign(fields.begin() + static_cast<long>(i), fields.begin() + static_cast<long>(i + argc));
  i += argc;
  std::size_t envc = 0;
  if (!count(envc) || i + envc != fields.size()) return false;
  env.assign(fields.begin() + static_cast<long>(i), fields.end());
  return true;
}

}  // namespace

int main() {
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  const std::string job = wait_for_job();
  std::vector<std::string> argv;
  std::vector<std::string> env;
  if (!parse(job, argv, env)) {
    say("its job file is malformed");
    return 125;
  }
  for (auto& e : env) {
    const auto eq = e.find('=');
    if (eq == 0 || eq == std::string::npos) continue;
    e[eq] = '\0';
    setenv(e.c_str(), e.c_str() + eq + 1, 1);
  }
  // The handlers stay until the exec, which resets them: a stop before it
  // still ends this process (PID 1 ignores a signal it has no handler for).
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  execvp(args[0], args.data());
  const int err = errno;
  say("cannot run " + argv[0] + ": " + std::strerror(err));
  return err == ENOENT ? 127 : 126;
}
