#include "jobq_cli.hpp"

#include <unistd.h>

#include <fstream>
#include <iostream>
#include <sstream>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <CLI/CLI.hpp>

#include "client.hpp"
#include "complete.hpp"
#include "cli_util.hpp"
#include "exit_codes.hpp"
#include "insight_commands.hpp"
#include "policy_options.hpp"
#include "paths.hpp"
#include "protocol.hpp"
#include "render.hpp"
#include "suggest.hpp"
#include "time_util.hpp"

namespace jobq {

using nlohmann::json;

namespace {

std::map<std::string, std::string> parse_pairs(const std::vector<std::string>& items,
                                               const char* what) {
  std::map<std::string, std::string> out;
  for (const auto& item : items) {
    const auto eq = item.find('=');
    if (eq == std::string::npos || eq == 0)
      throw UsageError(std::string(what) + " '" + item + "' must look like KEY=VALUE");
    out[item.substr(0, eq)] = item.substr(eq + 1);
  }
  return out;
}

std::string read_message(const std::string& arg) {
  if (arg.empty() || arg[0] != '@') return arg;
  const std::string path = arg.substr(1);
  std::istream* in = nullptr;
  std::ifstream file;
  if (path == "-") {
    in = &std::cin;
  } else {
    file.open(path, std::ios::binary);
    if (!file) throw UsageError("cannot read message file " + path);
    in = &file;
  }
  std::ostringstream ss;
  ss << in->rdbuf();
  return ss.str();
}

// ---- subcommands ---------------------------------------------------------------------

void add_app_commands(CLI::App& root, Globals& g, std::function<int()>& action) {
  auto* app = root.add_subcommand("app", "Create and manage applications (admin)");
  app->require_subcommand(1);

  {
    auto* c = app->add_subcommand("create", "Define an application: an image, its env and limits");
    auto name = std::make_shared<std::string>();
    auto image = std::make_shared<std::string>();
    auto max = std::make_shared<int>(0);
    auto env = std::make_shared<std::vector<std::string>>();
    auto as_json = std::make_shared<bool>(false);
    c->add_option("name", *name, "Application name")->required();
    c->add_option("--image", *image, "Docker image to run")->required();
    c->add_option("--max-running", *max, "Jobs of this app running at once (0 = unlimited)")
        ->check(CLI::Range(0, 100000));
    c->add_option("--env", *env, "Environment for every job, KEY=VALUE (repeatable)")->type_size(1)->allow_extra_args(false);
    auto timeout = std::make_shared<std::string>();
    c->add_option("--timeout", *timeout, "Longest a job may run (e.g. 30m); then SIGTERM, grace, SIGKILL");
    auto policy = PolicyOptions::add_to(*c, PolicyOptions::Scope::app_create);
    c->add_flag("--json", *as_json, "Print the application as JSON");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        json args{{"name", *name}, {"image", *image}, {"max_running", *max}, {"env", parse_pairs(*env, "--env")}};
        if (!timeout->empty()) args["timeout_ms"] = duration_ms(*timeout, "--timeout");
        policy->to_args(args);
        const json app_json = g.client().call("app.create", args);
        if (*as_json) print_json(render::envelope("app", app_json));
        else std::cout << "created application " << *name << '\n';
        return exit_code::ok;
      };
    });
  }
  {
    auto* c = app->add_subcommand("update", "Change an application's image, limits, env, retries or webhooks");
    auto name = std::make_shared<std::string>();
    auto image = std::make_shared<std::string>();
    auto max = std::make_shared<int>(-1);
    auto env = std::make_shared<std::vector<std::string>>();
    auto unset = std::make_shared<std::vector<std::string>>();
    auto as_json = std::make_shared<bool>(false);
    c->add_option("name", *name, "Application name")->required();
    c->add_option("--image", *image, "New Docker image");
    c->add_option("--max-running", *max, "New limit (0 = unlimited)")->check(CLI::Range(0, 100000));
    c->add_option("--env", *env, "Set KEY=VALUE (repeatable)")->type_size(1)->allow_extra_args(false);
    c->add_option("--unset-env", *unset, "Remove KEY (repeatable)")->type_size(1)->allow_extra_args(false);
    auto timeout = std::make_shared<std::string>();
    c->add_option("--timeout", *timeout, "Longest a job may run (0 = no limit)");
    auto policy = PolicyOptions::add_to(*c, PolicyOptions::Scope::app_update);
    c->add_flag("--json", *as_json, "Print the application as JSON");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        json args{{"name", *name}};
        policy->to_args(args);
        if (!timeout->empty()) args["timeout_ms"] = *timeout == "0" ? 0 : duration_ms(*timeout, "--timeout");
        if (!image->empty()) args["image"] = *image;
        if (*max >= 0) args["max_running"] = *max;
        if (!env->empty()) args["env"] = parse_pairs(*env, "--env");
        if (!unset->empty()) args["unset_env"] = *unset;
        const json app_json = g.client().call("app.update", args);
        if (*as_json) print_json(render::envelope("app", app_json));
        else render::app_detail(std::cout, app_json);
        return exit_code::ok;
      };
    });
  }
  {
    auto* c = app->add_subcommand("delete", "Delete an application");
    auto name = std::make_shared<std::string>();
    auto force = std::make_shared<bool>(false);
    c->add_option("name", *name, "Application name")->required();
    c->add_flag("--force", *force, "Also cancel its pending and running jobs");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        const json r = g.client().call("app.delete", {{"name", *name}, {"force", *force}});
        std::cout << "deleted application " << *name;
        if (!r["cancelled_jobs"].empty()) std::cout << " (cancelled jobs: " << r["cancelled_jobs"].dump() << ")";
        std::cout << '\n';
        return exit_code::ok;
      };
    });
  }
  for (const bool pause : {true, false}) {
    auto* c = app->add_subcommand(pause ? "pause" : "resume",
                                  pause ? "Stop launching an application's jobs (running ones finish)"
                                        : "Launch an application's jobs again");
    auto name = std::make_shared<std::string>();
    c->add_option("name", *name, "Application name")->required();
    c->callback([=, &g, &action] {
      action = [=, &g] {
        g.client().call(pause ? "app.pause" : "app.resume", {{"name", *name}});
        std::cout << "application " << *name << (pause ? " paused" : " resumed") << '\n';
        return exit_code::ok;
      };
    });
  }
  {
    auto* c = app->add_subcommand("list", "List applications");
    auto as_json = std::make_shared<bool>(false);
    c->add_flag("--json", *as_json, "Print JSON");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        const json r = g.client().call("app.list");
        if (*as_json) print_json(render::envelope("apps", r["apps"]));
        else render::app_table(std::cout, r["apps"]);
        return exit_code::ok;
      };
    });
  }
  {
    auto* c = app->add_subcommand("show", "Show one application");
    auto name = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    c->add_option("name", *name, "Application name")->required();
    c->add_flag("--json", *as_json, "Print JSON");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        const json r = g.client().call("app.show", {{"name", *name}});
        if (*as_json) print_json(render::envelope("app", r));
        else render::app_detail(std::cout, r);
        return exit_code::ok;
      };
    });
  }
}

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
          if (cv_.wait_for(lock, std::chrono::milliseconds(tick == 0 ? 300 : 200), [&] { return done_; })) break;
        }
        if (tick % 10 == 0 && ids.size() <= 50) {
          int left = 0;
          try {
            for (const auto& id : ids)
              if (!is_final(parse_job_state(g.client().call("show", {{"id", id}}, std::chrono::seconds(2))
                                                .value("state", ""))
                                .value_or(JobState::pending)))
                ++left;
            open = std::to_string(left) + " of " + std::to_string(ids.size()) + " job(s)";
          } catch (const std::exception&) {
          }
        }
        const auto secs = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - began).count();
        std::cerr << "\r" << "|/-\\"[tick % 4] << " waiting for " << open << ", " << render::age(secs) << "\x1b[K"
                  << std::flush;
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

// jobq enqueue --batch: jobs from a file, one JSON object a line, sent in
// runs of up to 10000 (one request, all-or-nothing, one commit each). Every
// line is read and checked before anything is sent.
int enqueue_batch(const Globals& g, const std::string& source, const std::string& default_app,
                  bool as_json) {
  std::ifstream file;
  std::istream* in = &std::cin;
  if (source != "-") {
    file.open(source);
    if (!file) throw UsageError("cannot read " + source);
    in = &file;
  }
  std::vector<json> jobs;
  std::string line;
  for (int n = 1; std::getline(*in, line); ++n) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json job = json::parse(line, nullptr, false);
    if (!job.is_object()) throw UsageError(source + ":" + std::to_string(n) + ": not a JSON object");
    if (!job.contains("app")) {
      if (default_app.empty())
        throw UsageError(source + ":" + std::to_string(n) + ": no \"app\" (and no APP given)");
      job["app"] = default_app;
    }
    jobs.push_back(std::move(job));
  }
  if (jobs.empty()) throw UsageError("no jobs in " + source);
  constexpr std::size_t kRun = 10'000, kRunBytes = 900'000;
  json all = json::array();
  Client client = g.client();
  for (std::size_t i = 0; i < jobs.size();) {
    json run = json::array();
    std::size_t bytes = 0;
    while (i < jobs.size() && run.size() < kRun) {
      const std::size_t size = jobs[i].dump().size() + 1;
      if (!run.empty() && bytes + size > kRunBytes) break;
      bytes += size;
      run.push_back(jobs[i++]);
    }
    const json r = client.call("enqueue.batch", {{"jobs", run}});
    for (const auto& j : r["jobs"]) {
      all.push_back(j);
      if (!as_json) std::cout << j["id"].get<std::int64_t>() << '\n';
    }
  }
  if (as_json) print_json(render::envelope("jobs", all));
  return exit_code::ok;
}

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
      return client.call("wait", args);
    } catch (const ConnectionLost& e) {
      std::cerr << "jobq: " << e.what() << "; reconnecting\n";
    }
    const auto lost_at = std::chrono::steady_clock::now();
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      if (deadline && std::chrono::steady_clock::now() >= *deadline)
        throw ProtocolError(ErrorCode::timeout, "the job(s) did not finish in time");
      try {
        client.call("status", json::object(), std::chrono::seconds(30));
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

// `list` a page at a time (jobqd bounds each reply's bytes), newest pages
// first, until `limit` jobs or the oldest: the jobs, oldest first, as one
// array. A jobqd that does not page answers everything in its one reply.
json list_all_pages(Client client, json args, std::int64_t limit) {
  std::vector<json> pages;
  std::int64_t got = 0;
  while (got < limit) {
    args["limit"] = limit - got;
    json r = client.call("list", args);
    json& jobs = r["jobs"];
    got += static_cast<std::int64_t>(jobs.size());
    pages.push_back(std::move(jobs));
    const auto next = r.find("next_before_id");
    if (next == r.end() || !next->is_number_integer() || pages.back().empty()) break;
    args["before_id"] = *next;
  }
  json all = json::array();
  for (auto p = pages.rbegin(); p != pages.rend(); ++p)
    for (auto& j : *p) all.push_back(std::move(j));
  return all;
}

int wait_exit_code(const json& jobs) {
  for (const auto& j : jobs) {
    const std::string state = j.value("state", "");
    const int recorded =
        j.contains("exit_code") && j["exit_code"].is_number_integer() ? j["exit_code"].get<int>() : -1;
    int code = exit_code::no_exit_code;
    if (state == "succeeded") code = 0;
    // A failed job exits non-zero: its own code, or 125 when it has none (or
    // had 0, as when a child of it was killed for memory).
    if (state == "failed" && recorded > 0) code = recorded;
    if (code != 0) return code;
  }
  return exit_code::ok;
}

void add_job_commands(CLI::App& root, Globals& g, std::function<int()>& action) {
  {
    auto* c = root.add_subcommand("enqueue", "Enqueue a job: jobq enqueue APP [options] -- CMD [ARG...]");
    auto app = std::make_shared<std::string>();
    auto env = std::make_shared<std::vector<std::string>>();
    auto labels = std::make_shared<std::vector<std::string>>();
    auto message = std::make_shared<std::string>();
    auto quiet = std::make_shared<bool>(false);
    auto as_json = std::make_shared<bool>(false);
    auto command = std::make_shared<std::vector<std::string>>();
    auto priority = std::make_shared<int>(0);
    auto delay = std::make_shared<std::string>();
    auto at = std::make_shared<std::string>();
    auto key = std::make_shared<std::string>();
    auto batch = std::make_shared<std::string>();
    c->add_option("app", *app, "Application to run the job in (with --batch: for lines that name none)");
    c->add_option("command", *command, "Command and arguments, after -- (default: the image's)");
    c->add_option("--batch", *batch,
                  "Enqueue many jobs from FILE (- for stdin): one JSON object per line with the "
                  "fields of the protocol's enqueue (app, command, env, ...); each run of up to "
                  "10000 lines is all-or-nothing; prints the ids");
    c->add_option("--env", *env, "Extra environment, KEY=VALUE (repeatable)")->type_size(1)->allow_extra_args(false);
    c->add_option("--message", *message, "JSON handed to the job as JOBQ_MESSAGE; @FILE reads a file, @- stdin");
    c->add_option("--label", *labels, "Label, KEY=VALUE (repeatable); also set on the container")->type_size(1)->allow_extra_args(false);
    c->add_option("--priority", *priority, "Higher starts first within the application (-1000..1000)")
        ->check(CLI::Range(-1000, 1000));
    c->add_option("--delay", *delay, "Stay pending this long first (e.g. 90s, 2h)");
    c->add_option("--at", *at, "Stay pending until then: RFC 3339, 'YYYY-MM-DD HH:MM' or 'HH:MM' (local)");
    auto timeout = std::make_shared<std::string>();
    c->add_option("--timeout", *timeout, "Longest this job may run (at most its application's)");
    c->add_option("--key", *key,
                  "Idempotency key: enqueueing the same key in the application again "
                  "(as the same user) returns the first job instead of a new one");
    auto after = std::make_shared<std::vector<std::string>>();
    auto after_any = std::make_shared<std::vector<std::string>>();
    c->add_option("--after", *after, "Start only when these jobs succeeded: ID[,ID...] (repeatable); "
                  "if one does not, this job is skipped")->type_size(1)->allow_extra_args(false);
    c->add_option("--after-any", *after_any, "Start only when these jobs ended, however they ended: "
                  "ID[,ID...] (repeatable)")->type_size(1)->allow_extra_args(false);
    auto policy = PolicyOptions::add_to(*c, PolicyOptions::Scope::job);
    c->add_flag("-q,--quiet", *quiet, "Print only the job id");
    c->add_flag("--json", *as_json, "Print the new job as JSON");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        if (!batch->empty()) {
          if (!command->empty() || !env->empty() || !labels->empty() || !message->empty() || !key->empty())
            throw UsageError("with --batch, each line gives its job's fields; only APP (a default) may be given");
          return enqueue_batch(g, *batch, *app, *as_json);
        }
        if (app->empty()) throw UsageError("APP is required (jobq enqueue APP [options] -- CMD [ARG...])");
        json args{{"app", *app}, {"env", parse_pairs(*env, "--env")}, {"labels", parse_pairs(*labels, "--label")}};
        policy->to_args(args);
        if (!after->empty()) args["after"] = parse_id_list(*after);
        if (!after_any->empty()) args["after_any"] = parse_id_list(*after_any);
        if (*priority != 0) args["priority"] = *priority;
        if (!key->empty()) args["key"] = *key;
        if (!timeout->empty()) args["timeout_ms"] = duration_ms(*timeout, "--timeout");
        if (!delay->empty() && !at->empty()) throw UsageError("give --delay or --at, not both");
        const auto now = std::chrono::system_clock::now();
        if (!delay->empty()) {
          auto d = parse_duration(*delay);
          if (!d) throw UsageError("--delay '" + *delay + "' is not a duration (e.g. 90s, 10m, 2h)");
          args["not_before"] = format_rfc3339(now + *d);
        }
        if (!at->empty()) {
          auto when = parse_when(*at, now);
          if (!when)
            throw UsageError("--at '" + *at + "' is not a time (RFC 3339, 'YYYY-MM-DD HH:MM' or 'HH:MM')");
          args["not_before"] = format_rfc3339(std::chrono::system_clock::time_point(
              std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::nanoseconds(*when))));
        }
        if (!command->empty()) args["command"] = *command;
        if (!message->empty()) {
          const std::string text = read_message(*message);
          if (json::parse(text, nullptr, false).is_discarded())
            throw UsageError("--message is not valid JSON");
          args["message"] = text;
        }
        const json job = g.client().call("enqueue", args);
        if (*as_json) print_json(render::envelope("job", job));
        else if (*quiet) std::cout << job["id"].get<std::int64_t>() << '\n';
        else if (job.value("existing", false))
          std::cout << "job " << job["id"].get<std::int64_t>() << " already has key "
                    << render::visible(*key) << " in " << *app << '\n';
        else std::cout << "job " << job["id"].get<std::int64_t>() << " enqueued in " << *app << '\n';
        return exit_code::ok;
      };
    });
  }
  {
    auto* c = root.add_subcommand("show", "Show a job: state, exit code, Docker's times, attempts");
    auto id = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    c->add_option("id", *id, "Job id")->required();
    c->add_flag("--json", *as_json, "Print JSON");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        const json job = g.client().call("show", {{"id", parse_id(*id)}});
        if (*as_json) print_json(render::envelope("job", job));
        else render::job_detail(std::cout, job);
        return exit_code::ok;
      };
    });
  }
  {
    auto* c = root.add_subcommand("list", "List jobs, oldest first (the most recent --limit)");
    auto app = std::make_shared<std::string>();
    auto state = std::make_shared<std::string>();
    auto limit = std::make_shared<int>(100);
    auto as_json = std::make_shared<bool>(false);
    c->add_option("--app", *app, "Only this application's jobs");
    c->add_option("--state", *state, "Only jobs in this state")
        ->check(CLI::IsMember({"pending", "starting", "running", "succeeded", "failed",
                               "cancelled", "lost", "timed_out", "skipped"}));
    c->add_option("--limit", *limit, "At most this many (0: the most, 10000)")->check(CLI::Range(0, 10000));
    c->add_flag("--json", *as_json, "Print JSON");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        json args;
        if (!app->empty()) args["app"] = *app;
        if (!state->empty()) args["state"] = *state;
        const json jobs = list_all_pages(g.client(), args, *limit == 0 ? 10'000 : *limit);
        if (*as_json) print_json(render::envelope("jobs", jobs));
        else render::job_table(std::cout, jobs);
        return exit_code::ok;
      };
    });
  }
  {
    auto* c = root.add_subcommand("logs", "Print a job's output (stdout, or --stderr); -f follows it live");
    auto id = std::make_shared<std::string>();
    auto err = std::make_shared<bool>(false);
    auto both = std::make_shared<bool>(false);
    auto attempt = std::make_shared<int>(0);
    auto follow = std::make_shared<bool>(false);
    auto tail = std::make_shared<std::string>();
    auto since = std::make_shared<std::string>();
    auto timestamps = std::make_shared<bool>(false);
    c->add_option("id", *id, "Job id")->required();
    c->add_flag("--stderr", *err, "Print standard error instead of standard output");
    c->add_flag("--both", *both, "Print both: standard output to stdout, standard error to stderr");
    c->add_option("--attempt", *attempt, "Which attempt (default: the last)")->check(CLI::Range(1, 1000000));
    c->add_flag("-f,--follow", *follow,
                "Follow the output as it is written, through retries, until the job ends");
    c->add_option(
         "--tail", *tail,
         "Only the last N lines, or 'all' (default: all stored output; of a running job, its "
         "last 1000 lines)")
        ->check(CLI::Validator(
            [](std::string& v) -> std::string {
              if (v == "all" || CLI::Range(0, 100000000)(v).empty()) return "";
              return "'" + v + "' is neither a number of lines (0..100000000) nor 'all'";
            },
            "N|all"));
    c->add_option("--since", *since,
                  "Only lines written since then: a duration ago (10m) or a time (RFC 3339, 'HH:MM')");
    c->add_flag("-t,--timestamps", *timestamps, "Start each line with the time Docker saw it");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        if (*err && *both) throw UsageError("give --stderr or --both, not both");
        json args{{"id", parse_id(*id)}};
        if (*attempt > 0) args["attempt"] = *attempt;
        if (!tail->empty()) args["tail"] = *tail == "all" ? -1 : std::stoi(*tail);
        if (*timestamps) args["timestamps"] = true;
        if (!since->empty()) {
          const auto now = std::chrono::system_clock::now();
          std::optional<std::int64_t> when;
          if (auto d = parse_duration(*since)) {
            when = now_unix_ns() - std::chrono::nanoseconds(*d).count();
          } else if ((when = parse_when(*since, now)) && *when > now_unix_ns()) {
            *when -= 86'400'000'000'000;  // "HH:MM" already passed today: today's, not tomorrow's
          }
          if (!when) throw UsageError("--since '" + *since + "' is neither a duration (10m) nor a time");
          args["since"] = format_unix_ns(*when);
        }
        auto write = [](const std::string& stream, const std::string& bytes) {
          std::ostream& out = stream == "stderr" ? std::cerr : std::cout;
          out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
          out.flush();
        };
        if (*follow) {
          args["follow"] = true;
          args["stream"] = *both ? "both" : *err ? "stderr" : "stdout";
          int shown_attempt = 0;
          g.client().stream("logs", args, [&](const json& frame) {
            const auto data = base64_decode(frame.value("data_base64", ""));
            if (!data) throw ProtocolError(ErrorCode::internal, "jobqd sent undecodable log data");
            const int n = frame.value("attempt", 0);
            if (shown_attempt != 0 && n != shown_attempt)
              std::cerr << "jobq: --- attempt " << n << " ---\n";
            shown_attempt = n;
            write(*both ? frame.value("stream", "stdout") : "stdout", *data);
          });
          return exit_code::ok;
        }
        for (const char* stream : {"stdout", "stderr"}) {
          if (std::string(stream) == "stdout" ? *err : !(*err || *both)) continue;
          args["stream"] = stream;
          const json r = g.client().call("logs", args);
          const auto data = base64_decode(r.value("data_base64", ""));
          if (!data) throw ProtocolError(ErrorCode::internal, "jobqd sent undecodable log data");
          write(*both ? stream : "stdout", *data);
          if (r.value("more", false))
            std::cerr << "jobq: note: job " << args["id"] << " is running: this is its last "
                      << r.value("default_tail", 0)
                      << " lines; --tail N or --tail all shows more\n";
          if (r.value("truncated", false))
            std::cerr << "jobq: note: output was cut; only the last part of "
                      << r.value("total_bytes", 0) << " bytes was kept (jobqd --log-cap)\n";
        }
        return exit_code::ok;
      };
    });
  }
  {
    auto* c = root.add_subcommand("wait", "Wait for jobs to end; exit with the (first non-zero) job exit code");
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
          if (!d) throw UsageError("--timeout '" + *timeout + "' is not a duration (e.g. 30s, 10m, 1h)");
          args["timeout_ms"] = d->count();
        }
        WaitProgress progress(g, args["ids"]);  // on a terminal only
        const json r = wait_through_restarts(g.client(), args);
        progress.stop();
        if (*as_json) {
          print_json(render::envelope("jobs", r["jobs"]));
        } else if (::isatty(STDOUT_FILENO)) {
          for (const auto& j : r["jobs"]) std::cout << "job " << j["id"] << ": " << render::outcome(j) << '\n';
        }
        return wait_exit_code(r["jobs"]);
      };
    });
  }
  {
    auto* c = root.add_subcommand("cancel", "Cancel a job: a pending one never starts, a running one is stopped");
    auto id = std::make_shared<std::string>();
    auto no_wait = std::make_shared<bool>(false);
    auto as_json = std::make_shared<bool>(false);
    c->add_option("id", *id, "Job id")->required();
    c->add_flag("--no-wait", *no_wait, "Return once the cancel is recorded, before the container has stopped");
    c->add_flag("--json", *as_json, "Print the job as JSON");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        const auto job_id = parse_id(*id);
        json job = g.client().call("cancel", {{"id", job_id}});
        if (!*no_wait && (job["state"] == "starting" || job["state"] == "running"))
          job = g.client().call("wait", {{"ids", {job_id}}})["jobs"][0];
        if (*as_json) print_json(render::envelope("job", job));
        else std::cout << "job " << job_id << ": " << render::outcome(job) << '\n';
        return exit_code::ok;
      };
    });
  }
  // Commands that change one job and print it.
  struct JobAction {
    const char* name;
    const char* help;
    const char* done;
  };
  for (const JobAction& a : {JobAction{"hold", "Keep a pending job from starting", "held"},
                             JobAction{"release", "Let a held job start", "released"},
                             JobAction{"retry", "Run a finished job again, as a new attempt",
                                       "is pending again"}}) {
    auto* c = root.add_subcommand(a.name, a.help);
    auto id = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    c->add_option("id", *id, "Job id")->required();
    c->add_flag("--json", *as_json, "Print the job as JSON");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        const json job = g.client().call(a.name, {{"id", parse_id(*id)}});
        if (*as_json) print_json(render::envelope("job", job));
        else std::cout << "job " << *id << ' ' << a.done << '\n';
        return exit_code::ok;
      };
    });
  }
}

int code_for(ErrorCode c) {
  switch (c) {
    case ErrorCode::not_found: return exit_code::not_found;
    case ErrorCode::forbidden: return exit_code::forbidden;
    case ErrorCode::timeout: return exit_code::wait_timeout;
    case ErrorCode::internal:
    case ErrorCode::unsupported_version: return exit_code::internal;
    default: return exit_code::failure;
  }
}

std::string hint_for(ErrorCode c) {
  switch (c) {
    case ErrorCode::not_found: return " (see 'jobq list' or 'jobq app list')";
    case ErrorCode::engine: return " (is dockerd running? see 'jobq status')";
    case ErrorCode::internal: return " (see jobqd's log)";
    default: return "";
  }
}

}  // namespace

int jobq_main(int argc, char** argv) {
  CLI::App root{"jobq: a local job queue for Docker containers. Talks to jobqd."};
  root.set_version_flag("--version", std::string("jobq ") + JOBQ_VERSION);
  root.require_subcommand(1);
  // Warn once (stderr, never in --json output) when jobqd speaks another
  // revision of the protocol; an incompatible version is refused by jobqd.
  const bool completing = argc > 1 && std::string_view(argv[1]) == "__complete";
  on_server_revision([completing](int revision, const std::string& server) {
    static bool warned = false;
    if (revision == kProtocolRevision || warned || completing) return;
    warned = true;
    std::cerr << "jobq: warning: jobqd " << server << " speaks protocol " << kProtocolVersion
              << " revision " << revision << ", this jobq " << JOBQ_VERSION << " revision "
              << kProtocolRevision << "; "
              << (revision < kProtocolRevision ? "newer commands and options may be refused: upgrade jobqd"
                                               : "upgrade jobq to use all of jobqd")
              << '\n';
  });
  Globals g;
  root.add_option("--socket", g.socket, "jobqd's socket (default: $JOBQ_SOCKET, /run/jobq/jobq.sock for root, "
                  "$XDG_RUNTIME_DIR/jobq/jobq.sock otherwise)");
  std::function<int()> action;
  add_app_commands(root, g, action);
  add_job_commands(root, g, action);
  add_insight_commands(root, g, action);
  add_complete_command(root, action);  // hidden; completes every command above

  // An unknown subcommand gets a suggestion, not just "not expected".
  if (argc > 1 && argv[1][0] != '-') {
    const std::string given = argv[1];
    std::vector<std::string> names;
    for (const auto* sub : root.get_subcommands({}))  // hidden ones (__complete) are never suggested
      if (!sub->get_group().empty() || sub->get_name() == given) names.push_back(sub->get_name());
    if (std::find(names.begin(), names.end(), given) == names.end()) {
      const std::string best = nearest_name(given, names);
      std::cerr << "jobq: error: unknown command '" << given << "'";
      if (!best.empty()) std::cerr << "; did you mean '" << best << "'?";
      std::cerr << " (see 'jobq --help')\n";
      return exit_code::usage;
    }
  }
  try {
    root.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = root.exit(e);
    return rc == 0 ? exit_code::ok : exit_code::usage;
  }
  try {
    return action ? action() : exit_code::usage;
  } catch (const UsageError& e) {
    std::cerr << "jobq: error: " << e.what() << '\n';
    return exit_code::usage;
  } catch (const ClientError& e) {
    std::cerr << "jobq: error: " << e.what() << '\n';
    return exit_code::unreachable;
  } catch (const ProtocolError& e) {
    // The daemon's message may quote what another user wrote.
    std::cerr << "jobq: error: " << render::visible(e.what()) << hint_for(e.code()) << '\n';
    return code_for(e.code());
  } catch (const std::exception& e) {
    std::cerr << "jobq: error: " << e.what() << '\n';
    return exit_code::internal;
  }
}

}  // namespace jobq
