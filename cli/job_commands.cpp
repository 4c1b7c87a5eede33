// jobq show | list | update | cancel | hold | release | retry: one job, or a
// list (filtered by jobqd, in the columns asked for).
#include "commands.hpp"

#include <algorithm>
#include <iostream>
#include <optional>
#include <stdexcept>

#include "cli_util.hpp"
#include "exit_codes.hpp"
#include "render.hpp"
#include "wire/commands.hpp"
#include "wire/protocol.hpp"

namespace jobq {

using nlohmann::json;

namespace {

// `list` a page at a time (jobqd bounds each reply's bytes), newest pages
// first, until `limit` jobs or the oldest: the jobs, oldest first, as one
// array. A jobqd that does not page answers everything in its one reply.
json list_all_pages(Client client, json args, std::int64_t limit) {
  std::vector<json> pages;
  std::int64_t got = 0;
  while (got < limit) {
    args["limit"] = limit - got;
    json r = client.call(cmd::list, args);
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

std::string column_names() {
  std::string s;
  for (const auto& c : render::job_columns()) s += (s.empty() ? "" : ",") + std::string(c.name);
  return s;
}

}  // namespace

void add_job_commands(CLI::App& root, Globals& g, std::function<int()>& action) {
  {
    auto* c = root.add_subcommand("show", "Show a job: state, exit code, Docker's times, attempts");
    auto id = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    c->add_option("id", *id, "Job id")->required();
    c->add_flag("--json", *as_json, "Print JSON");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        const json job = g.client().call(cmd::show, {{"id", parse_id(*id)}});
        if (*as_json)
          print_json(render::envelope("job", job));
        else
          render::job_detail(std::cout, job);
        return exit_code::ok;
      };
    });
  }
  {
    auto* c = root.add_subcommand(
        "list", "List jobs, oldest first (the most recent --limit that match every filter)");
    auto app = std::make_shared<std::string>();
    auto states = std::make_shared<std::vector<std::string>>();
    auto user = std::make_shared<std::string>();
    auto labels = std::make_shared<std::vector<std::string>>();
    auto since = std::make_shared<std::string>();
    auto limit = std::make_shared<int>(100);
    auto newest_first = std::make_shared<bool>(false);
    auto format = std::make_shared<std::string>();
    auto no_header = std::make_shared<bool>(false);
    auto as_json = std::make_shared<bool>(false);
    c->add_option("--app", *app, "Only this application's jobs");
    c->add_option("--state", *states,
                  "Only jobs in these states: STATE[,STATE...] (repeatable): pending, starting, "
                  "running, succeeded, failed, cancelled, lost, timed_out, skipped")
        ->type_size(1)
        ->allow_extra_args(false)
        ->delimiter(',')
        ->check(CLI::IsMember({"pending", "starting", "running", "succeeded", "failed", "cancelled",
                               "lost", "timed_out", "skipped"}));
    c->add_option("--user", *user, "Only jobs this user submitted (a user name)");
    auto schedule = std::make_shared<std::string>();
    c->add_option("--schedule", *schedule,
                  "Only jobs your schedule NAME made, one per slot (admins: with --user, that "
                  "user's)");
    c->add_option("--label", *labels,
                  "Only jobs with this label: KEY=VALUE, or KEY for any value (repeatable: all "
                  "must match)")
        ->type_size(1)
        ->allow_extra_args(false);
    c->add_option("--since", *since,
                  "Only jobs created since then: a duration ago (10m, 2h) or a time (RFC 3339, "
                  "'YYYY-MM-DD HH:MM', 'HH:MM')");
    c->add_option("--limit", *limit, "At most this many (0: the most, 10000)")
        ->check(CLI::Range(0, 10000));
    c->add_flag("-r,--newest-first", *newest_first, "Newest first (also in --json)");
    c->add_option("--format", *format,
                  "Columns to print, comma-separated: " + column_names() + " (default " +
                      std::string(render::kDefaultJobColumns) + ")");
    c->add_flag("--no-header", *no_header, "Print no header line");
    c->add_flag("--json", *as_json, "Print JSON");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        if (*as_json && (!format->empty() || *no_header))
          throw UsageError("--format and --no-header choose human columns; not with --json");
        std::vector<const render::JobColumn*> columns;
        try {
          if (!format->empty()) columns = render::parse_job_columns(*format);
        } catch (const std::invalid_argument& e) {
          throw UsageError(std::string("--format: ") + e.what());
        }
        json args;
        if (!app->empty()) args["app"] = *app;
        if (!states->empty()) args["states"] = *states;
        if (!user->empty()) args["user"] = *user;
        if (!schedule->empty()) args["schedule"] = *schedule;
        if (!labels->empty()) {
          args["labels"] = json::object();
          for (const auto& l : *labels) {
            const auto eq = l.find('=');
            if (eq == 0 || l.empty())
              throw UsageError("--label '" + l + "' must look like KEY=VALUE or KEY");
            if (eq == std::string::npos)
              args["labels"][l] = nullptr;
            else
              args["labels"][l.substr(0, eq)] = l.substr(eq + 1);
          }
        }
        if (!since->empty()) args["since"] = since_arg(*since, "--since");
        json jobs = list_all_pages(g.client(), args, *limit == 0 ? 10'000 : *limit);
        if (*newest_first) std::reverse(jobs.begin(), jobs.end());
        if (*as_json)
          print_json(render::envelope("jobs", jobs));
        else
          render::job_table(std::cout, jobs,
                            columns.empty() ? render::default_job_columns(jobs) : columns,
                            !*no_header);
        return exit_code::ok;
      };
    });
  }
  {
    auto* c =
        root.add_subcommand("update", "Change a pending job: its priority, or hold or release it");
    auto id = std::make_shared<std::string>();
    auto priority = std::make_shared<std::optional<int>>();
    auto hold = std::make_shared<bool>(false);
    auto release = std::make_shared<bool>(false);
    auto as_json = std::make_shared<bool>(false);
    c->add_option("id", *id, "Job id")->required();
    c->add_option("--priority", *priority,
                  "New priority: higher starts first within the application (-1000..1000)")
        ->check(CLI::Range(-1000, 1000));
    auto* h = c->add_flag("--hold", *hold, "Keep it from starting");
    c->add_flag("--release", *release, "Let it start")->excludes(h);
    c->add_flag("--json", *as_json, "Print the job as JSON");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        json args{{"id", parse_id(*id)}};
        if (*priority) args["priority"] = **priority;
        if (*hold || *release) args["held"] = *hold;
        if (args.size() == 1) throw UsageError("give --priority N, --hold or --release");
        const json job = g.client().call(cmd::update, args);
        if (*as_json)
          print_json(render::envelope("job", job));
        else
          std::cout << "job " << *id << ": priority " << job.value("priority", 0)
                    << (job.value("held", false) ? ", held" : "") << '\n';
        return exit_code::ok;
      };
    });
  }
  {
    auto* c = root.add_subcommand(
        "cancel", "Cancel a job: a pending one never starts, a running one is stopped");
    auto id = std::make_shared<std::string>();
    auto no_wait = std::make_shared<bool>(false);
    auto as_json = std::make_shared<bool>(false);
    c->add_option("id", *id, "Job id")->required();
    c->add_flag("--no-wait", *no_wait,
                "Return once the cancel is recorded, before the container has stopped");
    c->add_flag("--json", *as_json, "Print the job as JSON");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        const auto job_id = parse_id(*id);
        json job = g.client().call(cmd::cancel, {{"id", job_id}});
        if (!*no_wait && (job["state"] == "starting" || job["state"] == "running"))
          job = g.client().call(cmd::wait, {{"ids", {job_id}}})["jobs"][0];
        if (*as_json)
          print_json(render::envelope("job", job));
        else
          std::cout << "job " << job_id << ": " << render::outcome(job) << '\n';
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
  for (const JobAction& a :
       {JobAction{cmd::hold, "Keep a pending job from starting", "held"},
        JobAction{cmd::release, "Let a held job start", "released"},
        JobAction{cmd::retry, "Run a finished job again, as a new attempt", "is pending again"}}) {
    auto* c = root.add_subcommand(a.name, a.help);
    auto id = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    c->add_option("id", *id, "Job id")->required();
    c->add_flag("--json", *as_json, "Print the job as JSON");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        const json job = g.client().call(a.name, {{"id", parse_id(*id)}});
        if (*as_json)
          print_json(render::envelope("job", job));
        else
          std::cout << "job " << *id << ' ' << a.done << '\n';
        return exit_code::ok;
      };
    });
  }
}

}  // namespace jobq
