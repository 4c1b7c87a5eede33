// Handlers for applications: app.create|update|delete|list|show|pause|resume.
#include "commands/handlers.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>

#include <spdlog/spdlog.h>

#include "model/placement.hpp"
#include "model/policy.hpp"
#include "server/visibility.hpp"

namespace jobq::handlers {

using nlohmann::json;

namespace {

// Reply bytes a client watching a pull's progress may leave unread; past
// that, progress lines are dropped (the final reply never is).
constexpr std::size_t kProgressBacklogCap = 256u << 10;

std::optional<PullPolicy> pull_arg(ArgReader& r) {
  const auto s = r.string("pull");
  if (!s) return std::nullopt;
  const auto p = parse_pull_policy(*s);
  if (!p) bad("'pull' must be missing, always or never");
  return p;
}

// Forwards a pull's progress to a client: every change of a layer's status,
// and a layer's byte counts at most every 200 ms.
class ProgressRelay {
 public:
  explicit ProgressRelay(Responder reply) : reply_(std::move(reply)) {}
  void operator()(const PullProgress& p) {
    {
      std::lock_guard lock(mu_);
      const auto now = std::chrono::steady_clock::now();
      auto& [status, at] = last_[p.id];
      if (status == p.status && now - at < std::chrono::milliseconds(200)) return;
      status = p.status;
      at = now;
    }
    if (reply_.backlog() > kProgressBacklogCap) return;
    reply_.partial(encode_partial(
        json{{"pull",
              {{"id", p.id}, {"status", p.status}, {"current", p.current}, {"total", p.total}}}}));
  }

 private:
  Responder reply_;
  std::mutex mu_;
  std::map<std::string, std::pair<std::string, std::chrono::steady_clock::time_point>> last_;
};

// Answers the request from another thread: `make` gives the result, or
// throws as a handler would.
void answer(const Responder& reply, const std::function<json()>& make) {
  try {
    reply(encode_ok(make()));
  } catch (const ProtocolError& e) {
    reply(encode_error(e.code(), e.what()));
  } catch (const StoreError& e) {
    reply(encode_error(code_for(e), e.what()));
  } catch (const std::exception& e) {
    spdlog::error("request failed: {}", e.what());
    reply(encode_error(ErrorCode::internal, e.what()));
  }
}

// Makes sure the image can be had under the policy (the puller inspects,
// and pulls when the policy says so), streaming the pull's progress when
// asked; then answers with `then()`, or with why the image cannot be had.
// A runtime whose nodes get images themselves (Swarm) has no puller: its
// answer comes at once.
void check_image_then(DaemonContext& ctx, const Call& call, const std::string& runtime,
                      const std::string& image, PullPolicy policy, bool progress,
                      std::function<json()> then) {
  ImagePuller* puller = ctx.exec.puller(runtime);
  if (!puller) {
    answer(call.reply, then);
    return;
  }
  PullProgressFn on_progress;
  if (progress) {
    auto relay = std::make_shared<ProgressRelay>(call.reply);
    on_progress = [relay](const PullProgress& p) { (*relay)(p); };
  }
  using Kind = ImagePuller::CheckOutcome::Kind;
  puller->check(
      image, policy, on_progress,
      [reply = call.reply, then = std::move(then), image](const ImagePuller::CheckOutcome& out) {
        switch (out.kind) {
          case Kind::ok:
            answer(reply, then);
            return;
          case Kind::unreachable:
            // As jobs are, the application is accepted while the engine is
            // down; its image is looked at when a job needs it.
            answer(reply, [&] {
              json app = then();
              app["warnings"] =
                  json::array({"image " + image + " was not checked: " + out.message +
                               "; it will be looked at (and pulled) when a job needs it"});
              return app;
            });
            return;
          case Kind::stopping:
            reply(encode_error(ErrorCode::unavailable, out.message));
            return;
          case Kind::failed:
            break;
        }
        reply(encode_error(ErrorCode::engine, "image " + image + " cannot be had: " + out.message +
                                                  " (--no-image-check skips this check)"));
      });
}

// The runtime an application names: one this jobqd has.
std::string runtime_arg(DaemonContext& ctx, ArgReader& r) {
  const auto kind = r.string("runtime");
  if (!kind) return kDefaultRuntime;
  if (!ctx.runtimes.find(*kind))
    bad("no runtime named '" + *kind + "' (this jobqd has " + ctx.runtimes.names() + ")");
  return *kind;
}

// Placement means something only on a runtime that places runs on nodes.
void check_placement(DaemonContext& ctx, const std::string& runtime, const Placement& p) {
  const Runtime& rt = ctx.runtimes.get(runtime);
  if ((!p.constraints.empty() || p.max_per_node > 0 || p.schedule_timeout_ms > 0) &&
      !rt.capabilities().remote_nodes)
    bad("placement (constraints, max_per_node, schedule_timeout) applies only to a runtime that "
        "places jobs on nodes, such as swarm; this application's runtime is " +
        runtime);
}

// --warm: a pool size (0 to kMaxWarm) or "auto".
std::optional<int> warm_arg(ArgReader& r) {
  const json* v = r.raw("warm");
  if (!v) return std::nullopt;
  if (v->is_string() && v->get<std::string>() == "auto") return kWarmAuto;
  if (v->is_number_integer()) {
    const auto n = v->get<std::int64_t>();
    if (n >= 0 && n <= kMaxWarm) return static_cast<int>(n);
  }
  bad("'warm' must be a number of containers from 0 to " + std::to_string(kMaxWarm) +
      ", or \"auto\"");
}

// Warm containers need a runtime that keeps them, and an image fixed while they wait.
void check_warm(DaemonContext& ctx, const std::string& runtime, PullPolicy pull, int warm) {
  if (warm == 0) return;
  if (!ctx.runtimes.get(runtime).capabilities().warm)
    bad("warm containers need a runtime that keeps them: this jobqd's " + runtime +
        " runtime keeps none" +
        (runtime == kDefaultRuntime ? " (jobqd runs with --max-warm 0 or found no jobq-warm)"
                                    : ""));
  if (pull == PullPolicy::always)
    bad("warm containers run the image they started with, so they cannot be had with "
        "--pull always; use --pull missing");
}

}  // namespace

std::optional<json> app_create(DaemonContext& ctx, const json& args, const Call& call) {
  ArgReader r(
      args, {"name", "image", "max_running", "env", "timeout_ms", "retry", "resources", "webhooks",
             "pull", "check_image", "progress", "runtime", "placement", "warm"});
  App a;
  a.name = r.required_string("name");
  if (!valid_app_name(a.name))
    bad("'" + a.name +
        "' is not a valid application name (letters, digits, '.', '_', '-'; "
        "at most 64; starting with a letter or digit)");
  a.image = r.required_string("image");
  if (a.image.empty() || has_nul(a.image) || a.image.size() > 512)
    bad("'image' is not a valid image name");
  const auto max = r.integer("max_running").value_or(0);
  if (max < 0 || max > 100000) bad("'max_running' must be between 0 (unlimited) and 100000");
  a.max_running = static_cast<int>(max);
  a.env = checked_env(r.string_map("env"), "env");
  a.timeout_ms = timeout_arg(r).value_or(0);
  a.retry = policy_arg(r, "retry", RetryPolicy{}, apply_retry);
  a.resources = policy_arg(r, "resources", Resources{}, apply_resources);
  a.webhooks = checked_webhooks(policy_arg(r, "webhooks", Webhooks{}, apply_webhooks));
  a.pull = pull_arg(r).value_or(PullPolicy::missing);
  a.runtime = runtime_arg(ctx, r);
  a.placement = policy_arg(r, "placement", Placement{}, apply_placement);
  check_placement(ctx, a.runtime, a.placement);
  a.warm = warm_arg(r).value_or(0);
  check_warm(ctx, a.runtime, a.pull, a.warm);
  const bool progress = r.boolean("progress").value_or(false);
  if (!r.boolean("check_image").value_or(true))
    return app_view(ctx.store.create_app(a), Viewer{-1, true});  // admins only
  // Said before a pull, not after it.
  if (ctx.store.get_app(a.name))
    throw ProtocolError(ErrorCode::conflict, "application '" + a.name + "' already exists");
  check_image_then(ctx, call, a.runtime, a.image, a.pull, progress, [&ctx, a] {
    App made = ctx.store.create_app(a);
    ctx.runner.kick();
    if (made.warm != 0) ctx.exec.warm().kick();
    return app_view(made, Viewer{-1, true});
  });
  return std::nullopt;
}

std::optional<json> app_update(DaemonContext& ctx, const json& args, const Call& call) {
  ArgReader r(
      args, {"name", "image", "max_running", "env", "unset_env", "timeout_ms", "retry", "resources",
             "webhooks", "pull", "check_image", "progress", "runtime", "placement", "warm"});
  const std::string name = r.required_string("name");
  AppUpdate u;
  if (r.raw("runtime")) u.runtime = runtime_arg(ctx, r);
  u.image = r.string("image");
  if (u.image && (u.image->empty() || has_nul(*u.image) || u.image->size() > 512))
    bad("'image' is not a valid image name");
  u.pull = pull_arg(r);
  if (auto max = r.integer("max_running")) {
    if (*max < 0 || *max > 100000) bad("'max_running' must be between 0 (unlimited) and 100000");
    u.max_running = static_cast<int>(*max);
  }
  u.set_env = checked_env(r.string_map("env"), "env");
  u.unset_env = r.string_list("unset_env").value_or(std::vector<std::string>{});
  u.timeout_ms = timeout_arg(r);
  // Checked here (against the defaults) so that a bad field is the client's error.
  if (const json* v = r.raw("retry")) {
    policy_arg(r, "retry", RetryPolicy{}, apply_retry);
    u.retry = *v;
  }
  if (const json* v = r.raw("resources")) {
    policy_arg(r, "resources", Resources{}, apply_resources);
    u.resources = *v;
  }
  if (const json* v = r.raw("webhooks")) {
    checked_webhooks(policy_arg(r, "webhooks", Webhooks{}, apply_webhooks));
    u.webhooks = *v;
  }
  if (const json* v = r.raw("placement")) {
    policy_arg(r, "placement", Placement{}, apply_placement);
    u.placement = *v;
  }
  u.warm = warm_arg(r);
  const bool progress = r.boolean("progress").value_or(false);
  const auto current = ctx.store.get_app(name);
  if (!current) throw ProtocolError(ErrorCode::not_found, ctx.store.no_such_app(name).what());
  if (u.warm || u.runtime || u.pull)
    check_warm(ctx, u.runtime.value_or(current->runtime), u.pull.value_or(current->pull),
               u.warm.value_or(current->warm));
  if (u.runtime || u.placement)
    check_placement(
        ctx, u.runtime.value_or(current->runtime),
        u.placement ? apply_placement(current->placement, *u.placement) : current->placement);
  const bool check = r.boolean("check_image").value_or(true) && (u.image || u.pull || u.runtime);
  const auto update = [&ctx, name, u] {
    App a = ctx.store.update_app(name, u);
    ctx.runner.kick();                     // a higher limit may let jobs start
    ctx.exec.warm().kick();                // its pool: resized, or recycled for a new spec
    return app_view(a, Viewer{-1, true});  // admins only
  };
  if (!check) return update();
  // The image it will run, under the policy it will have, on its runtime.
  check_image_then(ctx, call, u.runtime.value_or(current->runtime),
                   u.image.value_or(current->image), u.pull.value_or(current->pull), progress,
                   update);
  return std::nullopt;
}

std::optional<json> app_delete(DaemonContext& ctx, const json& args, const Call&) {
  ArgReader r(args, {"name", "force"});
  const std::string name = r.required_string("name");
  const auto cancelled = ctx.store.delete_app(name, r.boolean("force").value_or(false));
  ctx.exec.kick_pollers();
  ctx.waits.notify();
  return json{{"deleted", name}, {"cancelled_jobs", cancelled}};
}

std::optional<json> app_list(DaemonContext& ctx, const json& args, const Call& call) {
  ArgReader r(args, {});
  return json{{"apps", apps_view(ctx.store.list_apps(), viewer_of(ctx.info.access, call.peer))}};
}

std::optional<json> app_show(DaemonContext& ctx, const json& args, const Call& call) {
  ArgReader r(args, {"name"});
  const std::string name = r.required_string("name");
  auto app = ctx.store.get_app(name);
  if (!app) throw ProtocolError(ErrorCode::not_found, ctx.store.no_such_app(name).what());
  return app_view(*app, viewer_of(ctx.info.access, call.peer));
}

namespace {

std::optional<json> pause_or_resume(DaemonContext& ctx, const json& args, bool pause) {
  ArgReader r(args, {"name"});
  AppUpdate u;
  u.paused = pause;
  App a = ctx.store.update_app(r.required_string("name"), u);
  if (!pause) ctx.runner.kick();
  return app_view(a, Viewer{-1, true});  // admins only
}

}  // namespace

std::optional<json> app_pause(DaemonContext& ctx, const json& args, const Call&) {
  return pause_or_resume(ctx, args, true);
}

std::optional<json> app_resume(DaemonContext& ctx, const json& args, const Call&) {
  return pause_or_resume(ctx, args, false);
}

}  // namespace jobq::handlers
