// jobq enqueue: one job from the command line, or many with --batch.
#include "commands.hpp"

#include <fstream>
#include <iostream>

#include "cli_util.hpp"
#include "enqueue_options.hpp"
#include "exit_codes.hpp"
#include "render.hpp"
#include "wire/commands.hpp"
#include "wire/protocol.hpp"

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
    const json r = client.call(cmd::enqueue_batch, {{"jobs", run}});
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
    auto quiet = std::make_shared<bool>(false);
    auto as_json = std::make_shared<bool>(false);
    auto command = std::make_shared<std::vector<std::string>>();
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
    auto job = EnqueueOptions::add_to(*c);
    c->add_flag("-q,--quiet", *quiet, "Print only the job id");
    c->add_flag("--json", *as_json, "Print the new job as JSON");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        if (!batch->empty()) {
          if (!command->empty() || job->any_given())
            throw UsageError(
                "with --batch, each line gives its job's fields; only APP (a default) may be "
                "given");
          return enqueue_batch(g, *batch, *app, *as_json);
        }
        if (app->empty())
          throw UsageError("APP is required (jobq enqueue [options] APP [CMD [ARG...]])");
        json args{{"app", *app}};
        job->to_args(args);
        if (!command->empty()) args["command"] = *command;
        const json enqueued = g.client().call(cmd::enqueue, args);
        const auto id = enqueued["id"].get<std::int64_t>();
        if (*as_json)
          print_json(render::envelope("job", enqueued));
        else if (*quiet)
          std::cout << id << '\n';
        else if (enqueued.value("existing", false))
          std::cout << "job " << id << " already has key " << render::visible(job->key()) << " in "
                    << *app << '\n';
        else
          std::cout << "job " << id << " enqueued in " << *app << '\n';
        return exit_code::ok;
      };
    });
  }
}

}  // namespace jobq
