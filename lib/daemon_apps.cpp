// Handlers for applications: app.create|update|delete|list|show|pause|resume.
#include "daemon_handlers.hpp"

#include "policy.hpp"
#include "visibility.hpp"

namespace jobq::handlers {

using nlohmann::json;

std::optional<json> app_create(DaemonContext& ctx, const json& args, const Call&) {
  ArgReader r(args, {"name", "image", "max_running", "env", "timeout_ms", "retry", "resources",
                     "webhooks"});
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
  return app_view(ctx.store.create_app(a), Viewer{-1, true});  // admins only
}

std::optional<json> app_update(DaemonContext& ctx, const json& args, const Call&) {
  ArgReader r(args, {"name", "image", "max_running", "env", "unset_env", "timeout_ms", "retry",
                     "resources", "webhooks"});
  const std::string name = r.required_string("name");
  AppUpdate u;
  u.image = r.string("image");
  if (u.image && (u.image->empty() || has_nul(*u.image))) bad("'image' is not a valid image name");
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
  App a = ctx.store.update_app(name, u);
  ctx.runner.kick();                     // a higher limit may let jobs start
  return app_view(a, Viewer{-1, true});  // admins only
}

std::optional<json> app_delete(DaemonContext& ctx, const json& args, const Call&) {
  ArgReader r(args, {"name", "force"});
  const std::string name = r.required_string("name");
  const auto cancelled = ctx.store.delete_app(name, r.boolean("force").value_or(false));
  ctx.poller.kick();
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
