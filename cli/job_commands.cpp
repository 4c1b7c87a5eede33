// jobq show | list | cancel | hold | release | retry: one job, or a list.
#include "commands.hpp"

#include <iostream>

#include "cli_util.hpp"
#include "exit_codes.hpp"
#include "protocol.hpp"
#include "render.hpp"

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
        const json job = g.client().call("show", {{"id", parse_id(*id)}});
        if (*as_json)
          print_json(render::envelope("job", job));
        else
          render::job_detail(std::cout, job);
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
        ->check(CLI::IsMember({"pending", "starting", "running", "succeeded", "failed", "cancelled",
                               "lost", "timed_out", "skipped"}));
    c->add_option("--limit", *limit, "At most this many (0: the most, 10000)")
        ->check(CLI::Range(0, 10000));
    c->add_flag("--json", *as_json, "Print JSON");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        json args;
        if (!app->empty()) args["app"] = *app;
        if (!state->empty()) args["state"] = *state;
        const json jobs = list_all_pages(g.client(), args, *limit == 0 ? 10'000 : *limit);
        if (*as_json)
          print_json(render::envelope("jobs", jobs));
        else
          render::job_table(std::cout, jobs);
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
        json job = g.client().call("cancel", {{"id", job_id}});
        if (!*no_wait && (job["state"] == "starting" || job["state"] == "running"))
          job = g.client().call("wait", {{"ids", {job_id}}})["jobs"][0];
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
       {JobAction{"hold", "Keep a pending job from starting", "held"},
        JobAction{"release", "Let a held job start", "released"},
        JobAction{"retry", "Run a finished job again, as a new attempt", "is pending again"}}) {
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
