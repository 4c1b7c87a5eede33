// jobq run: enqueue a job, stream its output as it is written (stdout to
// stdout, stderr to stderr, through retries, as `logs -f --both` does) and
// exit with its exit code (wait's rule), like `docker run` or `srun`.
// Ctrl-C asks on the terminal whether to cancel the job or leave it running;
// off a terminal it leaves it running and says its id. A second Ctrl-C while
// asking ends jobq at once (the job keeps running).
#include "commands.hpp"

#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <string>
#include <thread>

#include "base/base64.hpp"
#include "cli_util.hpp"
#include "enqueue_options.hpp"
#include "exit_codes.hpp"
#include "render.hpp"
#include "wire/commands.hpp"
#include "wire/protocol.hpp"

namespace jobq {

using nlohmann::json;

namespace {

// The job's output as it comes, until it ends: its end ({id, state, exit_code}).
json follow_output(Client client, std::int64_t id) {
  int shown_attempt = 0;
  return client.stream(
      "logs", {{"id", id}, {"follow", true}, {"stream", "both"}}, [&](const json& frame) {
        const auto data = base64_decode(frame.value("data_base64", ""));
        if (!data) throw ProtocolError(ErrorCode::internal, "jobqd sent undecodable log data");
        const int n = frame.value("attempt", 0);
        if (shown_attempt != 0 && n != shown_attempt)
          std::cerr << "jobq: --- attempt " << n << " ---" << std::endl;
        shown_attempt = n;
        std::ostream& out = frame.value("stream", "stdout") == "stderr" ? std::cerr : std::cout;
        out.write(data->data(), static_cast<std::streamsize>(data->size()));
        out.flush();
      });
}

[[noreturn]] void leave_running(std::int64_t id) {
  std::cout.flush();
  std::cerr << "jobq: job " << id << " left running (jobq logs -f " << id << ", jobq wait " << id
            << ", jobq cancel " << id << ")" << std::endl;
  std::_Exit(exit_code::interrupted);
}

// Ctrl-C: on a terminal, ask; true when the job was cancelled (then its end
// is still followed). Off a terminal, or unless the answer is yes, jobq
// leaves the job running and exits.
bool on_interrupt(const Globals& g, std::int64_t id) {
  if (!::isatty(STDIN_FILENO) || !::isatty(STDERR_FILENO)) leave_running(id);
  sigset_t intr;
  sigemptyset(&intr);
  sigaddset(&intr, SIGINT);
  pthread_sigmask(SIG_UNBLOCK, &intr, nullptr);  // a second Ctrl-C ends jobq at once
  std::cerr << "\njobq: cancel job " << id << "? [y/N] " << std::flush;
  std::string answer;
  std::getline(std::cin, answer);
  pthread_sigmask(SIG_BLOCK, &intr, nullptr);
  if (answer != "y" && answer != "Y" && answer != "yes") leave_running(id);
  try {
    g.client().call(cmd::cancel, {{"id", id}});
  } catch (const std::exception& e) {  // it ended meanwhile, or jobqd is gone
    std::cerr << "jobq: error: cannot cancel job " << id << ": " << e.what() << std::endl;
    std::_Exit(exit_code::failure);
  }
  std::cerr << "jobq: job " << id << ": cancel requested" << std::endl;
  return true;
}

}  // namespace

void add_run_command(CLI::App& root, Globals& g, std::function<int()>& action) {
  auto* c = root.add_subcommand(
      "run",
      "Enqueue a job, print its output as it comes and exit with its exit code: jobq run APP "
      "[options] -- CMD [ARG...]");
  auto app = std::make_shared<std::string>();
  auto command = std::make_shared<std::vector<std::string>>();
  auto quiet = std::make_shared<bool>(false);
  c->add_option("app", *app, "Application to run the job in")->required();
  c->add_option("command", *command, "Command and arguments, after -- (default: the image's)");
  auto job = EnqueueOptions::add_to(*c);
  c->add_flag("-q,--quiet", *quiet, "Do not say on stderr which job was enqueued");
  c->callback([=, &g, &action] {
    action = [=, &g] {
      json args{{"app", *app}};
      job->to_args(args);
      if (!command->empty()) args["command"] = *command;
      // SIGINT is taken with sigtimedwait below, never by a handler; its
      // default action is restored first, as a shell ignores it for a job
      // started in the background.
      sigset_t intr;
      sigemptyset(&intr);
      sigaddset(&intr, SIGINT);
      ::signal(SIGINT, SIG_DFL);
      pthread_sigmask(SIG_BLOCK, &intr, nullptr);
      const json enqueued = g.client().call(cmd::enqueue, args);
      const auto id = enqueued["id"].get<std::int64_t>();
      if (!*quiet)
        std::cerr << "jobq: job " << id << (enqueued.value("existing", false) ? " (existing)" : "")
                  << " enqueued in " << *app << std::endl;
      std::atomic<bool> done{false};
      json end;
      std::exception_ptr error;
      std::thread follower([&] {  // inherits the blocked SIGINT
        try {
          end = follow_output(g.client(), id);
        } catch (...) {
          error = std::current_exception();
        }
        done = true;
      });
      bool cancelled = false;
      const timespec tick{0, 100'000'000};
      while (!done) {
        if (::sigtimedwait(&intr, nullptr, &tick) == SIGINT)
          cancelled = on_interrupt(g, id) || cancelled;
      }
      follower.join();
      if (error) std::rethrow_exception(error);
      if (cancelled) return exit_code::interrupted;
      return wait_exit_code(json::array({end}));
    };
  });
}

}  // namespace jobq
