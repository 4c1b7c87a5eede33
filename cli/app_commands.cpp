// jobq app create|update|delete|pause|resume|list|show.
#include "commands.hpp"

#include <unistd.h>

#include <charconv>
#include <iostream>

#include "cli_util.hpp"
#include "exit_codes.hpp"
#include "policy_options.hpp"
#include "pull_progress.hpp"
#include "render.hpp"
#include "wire/commands.hpp"
#include "wire/protocol.hpp"

namespace jobq {

using nlohmann::json;

namespace {

// --pull and --no-image-check, shared by app create and update.
struct ImageOptions {
  std::string pull;
  bool no_check = false;

  static std::shared_ptr<ImageOptions> add_to(CLI::App& c) {
    auto o = std::make_shared<ImageOptions>();
    c.add_option("--pull", o->pull,
                 "When jobqd pulls the image, as docker run --pull: missing (when the engine "
                 "lacks it; the default), always (before each launch), never")
        ->check(CLI::IsMember({"missing", "always", "never"}));
    c.add_flag("--no-image-check", o->no_check,
               "Do not make sure now that the image can be had (jobqd otherwise inspects it, "
               "and pulls it unless --pull never)");
    return o;
  }
  void to_args(json& args) const {
    if (!pull.empty()) args["pull"] = pull;
    if (no_check) args["check_image"] = false;
  }
};

// --runtime and the placement options (a runtime that places jobs on
// nodes: swarm), shared by app create and update.
struct RuntimeOptions {
  std::string runtime;
  std::vector<std::string> constraints;
  bool no_constraints = false;
  int max_per_node = -1;
  std::string schedule_timeout;
  std::string warm;

  static std::shared_ptr<RuntimeOptions> add_to(CLI::App& c, bool update) {
    auto o = std::make_shared<RuntimeOptions>();
    c.add_option("--runtime", o->runtime,
                 "What runs its jobs: docker (containers on jobqd's engine; the default) or "
                 "swarm (a service per job on a Docker Swarm cluster)");
    c.add_option("--constraint", o->constraints,
                 "swarm: where its jobs may run, in Swarm's syntax (node.labels.pool==batch, "
                 "node.hostname!=db1; repeatable; all must hold)")
        ->type_size(1)
        ->allow_extra_args(false);
    if (update) c.add_flag("--no-constraints", o->no_constraints, "swarm: remove every constraint");
    c.add_option("--max-per-node", o->max_per_node,
                 "swarm: at most N of its jobs on one node at once (0 = no limit)")
        ->check(CLI::Range(0, 10000));
    c.add_option("--schedule-timeout", o->schedule_timeout,
                 "swarm: a job no node takes within this long fails (e.g. 10m; 0 = wait)");
    c.add_option("--warm", o->warm,
                 "docker: keep N containers started and idle, each waiting for one of its jobs, "
                 "which then starts in milliseconds; auto: sized from its recent launches; 0: "
                 "none")
        ->type_name("N|auto");
    return o;
  }
  void to_args(json& args) const {
    if (!runtime.empty()) args["runtime"] = runtime;
    json placement = json::object();
    if (!constraints.empty() || no_constraints) placement["constraints"] = constraints;
    if (max_per_node >= 0) placement["max_per_node"] = max_per_node;
    if (!schedule_timeout.empty())
      placement["schedule_timeout_ms"] =
          schedule_timeout == "0" ? 0 : duration_ms(schedule_timeout, "--schedule-timeout");
    if (!placement.empty()) args["placement"] = placement;
    if (warm == "auto") {
      args["warm"] = "auto";
    } else if (!warm.empty()) {
      int n = -1;
      const auto [end, ec] = std::from_chars(warm.data(), warm.data() + warm.size(), n);
      if (ec != std::errc() || end != warm.data() + warm.size() || n < 0 || n > 1000)
        throw UsageError("--warm: '" + warm + "' is not a number of containers (0-1000) or auto");
      args["warm"] = n;
    }
  }
};

// app.create/app.update: on a terminal, the image pull's progress is shown
// on stderr while jobqd checks the image.
// The daemon's warnings (an image it could not check) go to stderr.
json call_showing_pull(Globals& g, const char* cmd, json args) {
  json app;
  if (!::isatty(STDERR_FILENO)) {
    app = g.client().call(cmd, args);
  } else {
    args["progress"] = true;
    PullProgressView view(std::cerr, true);
    app = g.client().stream(cmd, args, [&](const json& partial) {
      if (auto it = partial.find("pull"); it != partial.end()) view.update(*it);
    });
  }
  if (auto it = app.find("warnings"); it != app.end()) {
    if (it->is_array())
      for (const auto& w : *it)
        if (w.is_string())
          std::cerr << "jobq: warning: " << render::visible(w.get<std::string>()) << '\n';
    app.erase(it);
  }
  return app;
}

}  // namespace

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
    c->add_option("--env", *env, "Environment for every job, KEY=VALUE (repeatable)")
        ->type_size(1)
        ->allow_extra_args(false);
    auto timeout = std::make_shared<std::string>();
    c->add_option("--timeout", *timeout,
                  "Longest a job may run (e.g. 30m); then SIGTERM, grace, SIGKILL");
    auto policy = PolicyOptions::add_to(*c, PolicyOptions::Scope::app_create);
    auto image_opts = ImageOptions::add_to(*c);
    auto runtime_opts = RuntimeOptions::add_to(*c, false);
    c->add_flag("--json", *as_json, "Print the application as JSON");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        json args{{"name", *name},
                  {"image", *image},
                  {"max_running", *max},
                  {"env", parse_pairs(*env, "--env")}};
        if (!timeout->empty()) args["timeout_ms"] = duration_ms(*timeout, "--timeout");
        policy->to_args(args);
        image_opts->to_args(args);
        runtime_opts->to_args(args);
        const json app_json = call_showing_pull(g, cmd::app_create, args);
        if (*as_json)
          print_json(render::envelope("app", app_json));
        else
          std::cout << "created application " << *name << '\n';
        return exit_code::ok;
      };
    });
  }
  {
    auto* c = app->add_subcommand(
        "update", "Change an application's image, limits, env, retries or webhooks");
    auto name = std::make_shared<std::string>();
    auto image = std::make_shared<std::string>();
    auto max = std::make_shared<int>(-1);
    auto env = std::make_shared<std::vector<std::string>>();
    auto unset = std::make_shared<std::vector<std::string>>();
    auto as_json = std::make_shared<bool>(false);
    c->add_option("name", *name, "Application name")->required();
    c->add_option("--image", *image, "New Docker image");
    c->add_option("--max-running", *max, "New limit (0 = unlimited)")->check(CLI::Range(0, 100000));
    c->add_option("--env", *env, "Set KEY=VALUE (repeatable)")
        ->type_size(1)
        ->allow_extra_args(false);
    c->add_option("--unset-env", *unset, "Remove KEY (repeatable)")
        ->type_size(1)
        ->allow_extra_args(false);
    auto timeout = std::make_shared<std::string>();
    c->add_option("--timeout", *timeout, "Longest a job may run (0 = no limit)");
    auto policy = PolicyOptions::add_to(*c, PolicyOptions::Scope::app_update);
    auto image_opts = ImageOptions::add_to(*c);
    auto runtime_opts = RuntimeOptions::add_to(*c, true);
    c->add_flag("--json", *as_json, "Print the application as JSON");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        json args{{"name", *name}};
        policy->to_args(args);
        if (!timeout->empty())
          args["timeout_ms"] = *timeout == "0" ? 0 : duration_ms(*timeout, "--timeout");
        if (!image->empty()) args["image"] = *image;
        if (*max >= 0) args["max_running"] = *max;
        if (!env->empty()) args["env"] = parse_pairs(*env, "--env");
        if (!unset->empty()) args["unset_env"] = *unset;
        image_opts->to_args(args);
        runtime_opts->to_args(args);
        const json app_json = call_showing_pull(g, cmd::app_update, args);
        if (*as_json)
          print_json(render::envelope("app", app_json));
        else
          render::app_detail(std::cout, app_json);
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
        const json r = g.client().call(cmd::app_delete, {{"name", *name}, {"force", *force}});
        std::cout << "deleted application " << *name;
        if (!r["cancelled_jobs"].empty())
          std::cout << " (cancelled jobs: " << r["cancelled_jobs"].dump() << ")";
        std::cout << '\n';
        return exit_code::ok;
      };
    });
  }
  for (const bool pause : {true, false}) {
    auto* c =
        app->add_subcommand(pause ? "pause" : "resume",
                            pause ? "Stop launching an application's jobs (running ones finish)"
                                  : "Launch an application's jobs again");
    auto name = std::make_shared<std::string>();
    c->add_option("name", *name, "Application name")->required();
    c->callback([=, &g, &action] {
      action = [=, &g] {
        g.client().call(pause ? cmd::app_pause : cmd::app_resume, {{"name", *name}});
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
        const json r = g.client().call(cmd::app_list);
        if (*as_json)
          print_json(render::envelope("apps", r["apps"]));
        else
          render::app_table(std::cout, r["apps"]);
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
        const json r = g.client().call(cmd::app_show, {{"name", *name}});
        if (*as_json)
          print_json(render::envelope("app", r));
        else
          render::app_detail(std::cout, r);
        return exit_code::ok;
      };
    });
  }
}

}  // namespace jobq
