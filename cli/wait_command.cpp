// jobq wait: until jobs end, through jobqd restarts; exits with the jobs' code.
#include "commands.hpp"

#include <unistd.h>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <thread>

#include "base/time_util.hpp"
#include "cli_util.hpp"
#include "exit_codes.hpp"
#include "model/job_state.hpp"
#include "render.hpp"
#include "wire/commands.hpp"
#include "wire/protocol.hpp"

namespace jobq {

using nlohmann::json;

namespace {

// What `jobq wait` waits for, on stderr when that is a terminal: a spinner,
// the jobs not ended yet (asked every 2 s, for up to 50 of them) and the time.
class WaitProgress {
 public:
  WaitProgress(const Globals& g, const json& ids) {
    if (!::isatty(STDERR_FILENO)) return;
    thread_ = std::thread([this, g, ids] {
      const auto began = std::chrono::steady_clock::now();
      std::string open = std::to_string(ids.size()) + " job(s)";
      for (int tick = 0;; ++tick) {
        {
          std::unique_lock lock(mu_);
          if (cv_.wait_for(lock, std::chrono::milliseconds(tick == 0 ? 300 : 200),
                           [&] { return done_; }))
            break;
        }
        if (tick % 10 == 0 && ids.size() <= 50) {
          int left = 0;
          try {
            for (const auto& id : ids)
              if (!is_final(
                      parse_job_state(g.client_no_wait()
                                          .call(cmd::show, {{"id", id}}, std::chrono::seconds(2))
                                          .value("state", ""))
                          .value_or(JobState::pending)))
                ++left;
            open = std::to_string(left) + " of " + std::to_string(ids.size()) + " job(s)";
          } catch (const std::exception&) {
          }
        }
        const auto secs = std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::steady_clock::now() - began)
                              .count();
        std::cerr << "\r"
                  << "|/-\\"[tick % 4] << " waiting for " << open << ", " << render::age(secs)
                  << "\x1b[K" << std::flush;
      }
      std::cerr << "\r\x1b[K" << std::flush;
    });
  }
  ~WaitProgress() { stop(); }
  WaitProgress(const WaitProgress&) = delete;
  WaitProgress& operator=(const WaitProgress&) = delete;
  void stop() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};
// A wait outlives jobqd restarts (an upgrade, a SIGTERM): running jobs do, so
// the script waiting on them should too. Reconnects for up to 5 minutes.
json wait_through_restarts(Client client, json args) {
  const auto give_up_after = std::chrono::minutes(5);
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (args.contains("timeout_ms"))
    deadline = std::chrono::steady_clock::now() +
               std::chrono::milliseconds(args["timeout_ms"].get<std::int64_t>());
  for (;;) {
    try {
      return client.call(cmd::wait, args);
    } catch (const ConnectionLost& e) {
      std::cerr << "jobq: " << e.what() << "; reconnecting\n";
    }
    const auto lost_at = std::chrono::steady_clock::now();
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      if (deadline && std::chrono::steady_clock::now() >= *deadline)
        throw ProtocolError(ErrorCode::timeout, "the job(s) did not finish in time");
      try {
        client.call(cmd::status, json::object(), std::chrono::seconds(30));
        break;
      } catch (const ClientError&) {
        if (std::chrono::steady_clock::now() - lost_at > give_up_after) throw;
      }
    }
    if (deadline) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          *deadline - std::chrono::steady_clock::now());
      args["timeout_ms"] = std::max<std::int64_t>(0, left.count());
    }
  }
}

}  // namespace

int wait_exit_code(const json& jobs) {
  for (const auto& j : jobs) {
    const std::string state = j.value("state", "");
    const int recorded = j.contains("exit_code") && j["exit_code"].is_number_integer()
                             ? j["exit_code"].get<int>()
                             : -1;
    int code = exit_code::no_exit_code;
    if (state == "succeeded") code = 0;
    // A failed job exits non-zero: its own code, or 125 when it has none (or
    // had 0, as when a child of it was killed for memory).
    if (state == "failed" && recorded > 0) code = recorded;
    if (code != 0) return code;
  }
  return exit_code::ok;
}

void add_wait_command(CLI::App& root, Globals& g, std::function<int()>& action) {
  {
    auto* c = root.add_subcommand(
        "wait", "Wait for jobs to end; exit with the (first non-zero) job exit code");
    auto ids = std::make_shared<std::vector<std::string>>();
    auto timeout = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    c->add_option("ids", *ids, "Job ids")->required();
    c->add_option("--timeout", *timeout, "Give up after this long (e.g. 30s, 10m); exit 124");
    c->add_flag("--json", *as_json, "Print the finished jobs as JSON");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        json args{{"ids", json::array()}};
        for (const auto& s : *ids) args["ids"].push_back(parse_id(s));
        if (!timeout->empty()) {
          auto d = parse_duration(*timeout);
          if (!d)
            throw UsageError("--timeout '" + *timeout + "' is not a duration (e.g. 30s, 10m, 1h)");
          args["timeout_ms"] = d->count();
        }
        WaitProgress progress(g, args["ids"]);  // on a terminal only
        json r;
        try {
          r = wait_through_restarts(g.client(), args);
        } catch (const ProtocolError& e) {
          if (e.code() != ErrorCode::timeout || !*as_json) throw;
          // The jobs as they stand, with the error that ended the wait.
          progress.stop();
          json jobs = json::array();
          Client client = g.client();
          for (const auto& id : args["ids"]) jobs.push_back(client.call(cmd::show, {{"id", id}}));
          json doc = error_document(exit_code::wait_timeout, e.what(), "timeout");
          doc["jobs"] = jobs;
          print_json(doc);
          std::cerr << "jobq: error: " << e.what() << '\n';
          return exit_code::wait_timeout;
        }
        progress.stop();
        const bool told_on_stdout = !*as_json && ::isatty(STDOUT_FILENO);
        if (*as_json) {
          print_json(render::envelope("jobs", r["jobs"]));
        } else if (told_on_stdout) {
          for (const auto& j : r["jobs"])
            std::cout << "job " << j["id"] << ": " << render::outcome(j) << '\n';
        }
        // Exit 125 says only "no exit code": say how each such job ended.
        if (!told_on_stdout)
          for (const auto& j : r["jobs"])
            if (wait_exit_code(json::array({j})) == exit_code::no_exit_code)
              std::cerr << "jobq: job " << j["id"] << " " << render::outcome(j) << '\n';
        return wait_exit_code(r["jobs"]);
      };
    });
  }
}

}  // namespace jobq
