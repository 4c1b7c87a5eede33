// jobq enqueue: one job from the command line, or many with --batch.
#include "commands.hpp"

#include <chrono>
#include <fstream>
#include <iostream>

#include "cli_util.hpp"
#include "exit_codes.hpp"
#include "policy_options.hpp"
#include "protocol.hpp"
#include "render.hpp"
#include "time_util.hpp"

namespace jobq {

using nlohmann::json;

namespace {

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
    if (!job.is_object())
      throw UsageError(source + ":" + std::to_string(n) + ": not a JSON object");
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

}  // namespace

void add_enqueue_command(CLI::App& root, Globals& g, std::function<int()>& action) {
  {
    auto* c =
        root.add_subcommand("enqueue", "Enqueue a job: jobq enqueue [options] APP [CMD [ARG...]]");
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
    c->add_option("app", *app,
                  "Application to run the job in (with --batch: for lines that name none)");
    c->add_option(
        "command", *command,
        "Command and arguments (default: the image's); all after its first word is its own");
    c->add_option("--batch", *batch,
                  "Enqueue many jobs from FILE (- for stdin): one JSON object per line with the "
                  "fields of the protocol's enqueue (app, command, env, ...); each run of up to "
                  "10000 lines is all-or-nothing; prints the ids");
    c->add_option("--env", *env, "Extra environment, KEY=VALUE (repeatable)")
        ->type_size(1)
        ->allow_extra_args(false);
    c->add_option("--message", *message,
                  "JSON handed to the job as JOBQ_MESSAGE; @FILE reads a file, @- stdin");
    c->add_option("--label", *labels, "Label, KEY=VALUE (repeatable); also set on the container")
        ->type_size(1)
        ->allow_extra_args(false);
    c->add_option("--priority", *priority,
                  "Higher starts first within the application (-1000..1000)")
        ->check(CLI::Range(-1000, 1000));
    c->add_option("--delay", *delay, "Stay pending this long first (e.g. 90s, 2h)");
    c->add_option("--at", *at,
                  "Stay pending until then: RFC 3339, 'YYYY-MM-DD HH:MM' or 'HH:MM' (local)");
    auto timeout = std::make_shared<std::string>();
    c->add_option("--timeout", *timeout, "Longest this job may run (at most its application's)");
    c->add_option("--key", *key,
                  "Idempotency key: enqueueing the same key in the application again "
                  "(as the same user) returns the first job instead of a new one");
    auto after = std::make_shared<std::vector<std::string>>();
    auto after_any = std::make_shared<std::vector<std::string>>();
    c->add_option("--after", *after,
                  "Start only when these jobs succeeded: ID[,ID...] (repeatable); "
                  "if one does not, this job is skipped")
        ->type_size(1)
        ->allow_extra_args(false);
    c->add_option("--after-any", *after_any,
                  "Start only when these jobs ended, however they ended: "
                  "ID[,ID...] (repeatable)")
        ->type_size(1)
        ->allow_extra_args(false);
    auto policy = PolicyOptions::add_to(*c, PolicyOptions::Scope::job);
    c->add_flag("-q,--quiet", *quiet, "Print only the job id");
    c->add_flag("--json", *as_json, "Print the new job as JSON");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        if (!batch->empty()) {
          if (!command->empty() || !env->empty() || !labels->empty() || !message->empty() ||
              !key->empty())
            throw UsageError(
                "with --batch, each line gives its job's fields; only APP (a default) may be "
                "given");
          return enqueue_batch(g, *batch, *app, *as_json);
        }
        if (app->empty())
          throw UsageError("APP is required (jobq enqueue [options] APP [CMD [ARG...]])");
        json args{{"app", *app},
                  {"env", parse_pairs(*env, "--env")},
                  {"labels", parse_pairs(*labels, "--label")}};
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
          if (!d)
            throw UsageError("--delay '" + *delay + "' is not a duration (e.g. 90s, 10m, 2h)");
          args["not_before"] = format_rfc3339(now + *d);
        }
        if (!at->empty()) {
          auto when = parse_when(*at, now);
          if (!when)
            throw UsageError("--at '" + *at +
                             "' is not a time (RFC 3339, 'YYYY-MM-DD HH:MM' or 'HH:MM')");
          args["not_before"] = format_rfc3339(std::chrono::system_clock::time_point(
              std::chrono::duration_cast<std::chrono::system_clock::duration>(
                  std::chrono::nanoseconds(*when))));
        }
        if (!command->empty()) args["command"] = *command;
        if (!message->empty()) {
          const std::string text = read_message(*message);
          if (json::parse(text, nullptr, false).is_discarded())
            throw UsageError("--message is not valid JSON");
          args["message"] = text;
        }
        const json job = g.client().call("enqueue", args);
        if (*as_json)
          print_json(render::envelope("job", job));
        else if (*quiet)
          std::cout << job["id"].get<std::int64_t>() << '\n';
        else if (job.value("existing", false))
          std::cout << "job " << job["id"].get<std::int64_t>() << " already has key "
                    << render::visible(*key) << " in " << *app << '\n';
        else
          std::cout << "job " << job["id"].get<std::int64_t>() << " enqueued in " << *app << '\n';
        return exit_code::ok;
      };
    });
  }
}

}  // namespace jobq
