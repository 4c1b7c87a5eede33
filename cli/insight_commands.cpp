// jobq status | top | metrics | stats | prune: jobqd as a whole.
#include "commands.hpp"

#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <sstream>

#include "base/time_util.hpp"
#include "exit_codes.hpp"
#include "render.hpp"
#include "wire/commands.hpp"

namespace jobq {

using nlohmann::json;

namespace {

// Raw keyboard input for `jobq top` (no echo, no line buffering, Ctrl-C as a
// key), put back as it was however top ends.
class RawTerminal {
 public:
  RawTerminal() {
    if (::tcgetattr(STDIN_FILENO, &saved_) != 0) return;
    termios raw = saved_;
    raw.c_lflag &= static_cast<tcflag_t>(~(ICANON | ECHO | ISIG));
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    active_ = ::tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0;
    std::cout << "\x1b[?25l" << std::flush;  // hide the cursor
  }
  ~RawTerminal() {
    std::cout << "\x1b[?25h" << std::flush;
    if (active_) ::tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

 private:
  termios saved_{};
  bool active_ = false;
};

// One screen of `jobq top`: the status, then the running jobs.
std::string top_frame(const Globals& g, int rows) {
  std::ostringstream out;
  try {
    const json st = g.client().call(cmd::status, json::object(), std::chrono::seconds(5));
    render::status(out, st);
    const json running = g.client().call(
        "list", {{"state", "running"}, {"limit", std::max(1, rows)}}, std::chrono::seconds(5));
    out << '\n';
    if (running["jobs"].empty()) {
      out << "no running jobs\n";
    } else {
      std::vector<std::vector<std::string>> table{
          {"ID", "APP", "ATTEMPT", "RUNNING FOR", "COMMAND"}};
      const auto now = now_unix_ns();
      for (const auto& j : running["jobs"]) {
        std::string since = "-";
        if (j.contains("started_at") && j["started_at"].is_string())
          if (auto t = parse_rfc3339_ns(j["started_at"].get<std::string>()))
            since = render::age((now - *t) / 1'000'000'000);
        std::string cmd = render::command_text(j);
        if (cmd.size() > 50) cmd = cmd.substr(0, 47) + "...";
        table.push_back({j["id"].dump(), j.value("app", ""),
                         std::to_string(j.value("attempts", json::array()).size()), since, cmd});
      }
      render::table(out, table);
    }
  } catch (const std::exception& e) {
    out << "jobqd: " << render::visible(e.what()) << "\n(trying again)\n";
  }
  return out.str();
}

int run_top(const Globals& g, std::chrono::milliseconds interval) {
  if (!::isatty(STDOUT_FILENO) || !::isatty(STDIN_FILENO)) {
    std::cout << top_frame(g, 50);  // not a terminal: one snapshot
    return exit_code::ok;
  }
  RawTerminal raw;
  for (;;) {
    std::cout << "\x1b[H\x1b[2J"
              << "jobq top  (q quits; every " << interval.count() << " ms)  "
              << now_rfc3339().substr(0, 19) << "Z\n\n"
              << top_frame(g, 30) << std::flush;
    pollfd p{STDIN_FILENO, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(interval.count())) > 0) {
      char key = 0;
      if (::read(STDIN_FILENO, &key, 1) == 1 &&
          (key == 'q' || key == 'Q' || key == 3 || key == 27)) {
        std::cout << '\n';
        return exit_code::ok;
      }
    }
  }
}

}  // namespace

void add_insight_commands(CLI::App& root, Globals& g, std::function<int()>& action) {
  {
    auto* c =
        root.add_subcommand("status",
                            "Show the daemon at a glance: version, uptime, engine, per application "
                            "running/limit, pending, failed in the last hour, oldest pending");
    auto as_json = std::make_shared<bool>(false);
    c->add_flag("--json", *as_json, "Print JSON");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        const json r = g.client().call(cmd::status, json::object(), std::chrono::seconds(30));
        if (*as_json)
          print_json(render::envelope("status", r));
        else
          render::status(std::cout, r);
        return exit_code::ok;
      };
    });
  }
  {
    auto* c = root.add_subcommand("top",
                                  "A live view of the status and the running jobs (q quits); "
                                  "one snapshot when not on a terminal");
    auto interval = std::make_shared<std::string>("1s");
    c->add_option("--interval", *interval, "Refresh every (e.g. 2s)");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        return run_top(g, std::chrono::milliseconds(duration_ms(*interval, "--interval")));
      };
    });
  }
  {
    auto* c = root.add_subcommand("metrics",
                                  "Print Prometheus metrics (text exposition format; for "
                                  "node_exporter's textfile collector)");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        const json r = g.client().call(cmd::metrics, json::object(), std::chrono::seconds(30));
        std::cout << r.value("text", "");
        return exit_code::ok;
      };
    });
  }
  {
    auto* c = root.add_subcommand("stats",
                                  "Jobs that ended, per application: counts by state, and "
                                  "p50/p95/max of run time and queue wait");
    auto app = std::make_shared<std::string>();
    auto since = std::make_shared<std::string>("24h");
    auto as_json = std::make_shared<bool>(false);
    auto schedule = std::make_shared<std::string>();
    auto owner = std::make_shared<std::string>();
    c->add_option("--app", *app, "Only this application");
    c->add_option("--schedule", *schedule, "Only the jobs of your schedule NAME");
    c->add_option("--owner", *owner, "With --schedule: whose (admins: another user's)");
    c->add_option("--since", *since,
                  "Jobs that ended in this last while (e.g. 1h, 7d; default 24h)");
    c->add_flag("--json", *as_json, "Print JSON");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        json args{
            {"since", format_unix_ns(now_unix_ns() - duration_ms(*since, "--since") * 1'000'000)}};
        if (!app->empty()) args["app"] = *app;
        if (!schedule->empty()) args["schedule"] = *schedule;
        if (!owner->empty()) {
          if (schedule->empty()) throw UsageError("--owner names whose --schedule");
          args["owner"] = *owner;
        }
        const json r = g.client().call(cmd::stats, args, std::chrono::minutes(5));
        if (*as_json)
          print_json(render::envelope("stats", r));
        else
          render::stats(std::cout, r);
        return exit_code::ok;
      };
    });
  }
  {
    auto* c = root.add_subcommand("prune",
                                  "Delete finished jobs and their output older than the "
                                  "retention (jobqd --retention), or --older-than (admin)");
    auto older = std::make_shared<std::string>();
    auto dry = std::make_shared<bool>(false);
    c->add_option("--older-than", *older, "Jobs that ended longer ago than this (e.g. 7d)");
    c->add_flag("--dry-run", *dry, "Only count them");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        json args{{"dry_run", *dry}};
        if (!older->empty())
          args["before"] =
              format_unix_ns(now_unix_ns() - duration_ms(*older, "--older-than") * 1'000'000);
        const json r = g.client().call(cmd::prune, args, std::chrono::minutes(10));
        std::cout << (*dry ? "would delete " : "deleted ") << r.value("jobs", 0)
                  << " job(s) that ended before " << r.value("before", "") << '\n';
        return exit_code::ok;
      };
    });
  }
}

}  // namespace jobq
