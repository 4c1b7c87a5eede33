#include "commands/dispatch.hpp"

#include <vector>

#include <spdlog/spdlog.h>

#include "base/suggest.hpp"
#include "commands/handlers.hpp"
#include "wire/protocol.hpp"

namespace jobq {

using nlohmann::json;

namespace {

// One protocol command: its name, who may call it, and its handler.
struct Command {
  std::string_view name;
  bool admin = false;  // for admins only (changes applications, or prunes)
  handlers::Handler handler = nullptr;
};

constexpr Command kCommands[] = {
    {.name = "status", .handler = handlers::status},
    {.name = "metrics", .handler = handlers::metrics},
    {.name = "stats", .handler = handlers::stats},
    {.name = "prune", .admin = true, .handler = handlers::prune},
    {.name = "app.create", .admin = true, .handler = handlers::app_create},
    {.name = "app.update", .admin = true, .handler = handlers::app_update},
    {.name = "app.delete", .admin = true, .handler = handlers::app_delete},
    {.name = "app.list", .handler = handlers::app_list},
    {.name = "app.show", .handler = handlers::app_show},
    {.name = "app.pause", .admin = true, .handler = handlers::app_pause},
    {.name = "app.resume", .admin = true, .handler = handlers::app_resume},
    {.name = "hold", .handler = handlers::hold},
    {.name = "release", .handler = handlers::release},
    {.name = "update", .handler = handlers::update},
    {.name = "retry", .handler = handlers::retry},
    {.name = "enqueue", .handler = handlers::enqueue},
    {.name = "enqueue.batch", .handler = handlers::enqueue_batch},
    {.name = "show", .handler = handlers::show},
    {.name = "list", .handler = handlers::list},
    {.name = "logs", .handler = handlers::logs},
    {.name = "wait", .handler = handlers::wait},
    {.name = "cancel", .handler = handlers::cancel},
};

}  // namespace

std::string nearest_command(std::string_view unknown) {
  std::vector<std::string> names;
  for (const auto& c : kCommands) names.emplace_back(c.name);
  return nearest_name(unknown, names);
}

void dispatch_request(DaemonContext& ctx, std::string_view line, const PeerCred& peer,
                      const Responder& reply) {
  try {
    const Request req = parse_request(line, ctx.info.max_request);
    const Command* cmd = nullptr;
    for (const auto& c : kCommands)
      if (c.name == req.cmd) cmd = &c;
    if (!cmd) {
      std::string msg = "unknown command '" + req.cmd + "'";
      if (auto near = nearest_command(req.cmd); !near.empty())
        msg += "; did you mean '" + near + "'?";
      throw ProtocolError(ErrorCode::bad_request, msg);
    }
    if (cmd->admin && !is_admin(ctx.info.access, peer))
      throw ProtocolError(ErrorCode::forbidden,
                          "'" + req.cmd + "' is for admins: " + admin_rule(ctx.info.access) +
                              "; you are " + user_name(peer.uid) + " (uid " +
                              std::to_string(peer.uid) + ")");
    const handlers::Call call{peer, reply};
    if (auto result = cmd->handler(ctx, req.args, call)) reply(encode_ok(*result));
  } catch (const ProtocolError& e) {
    reply(encode_error(e.code(), e.what()));
  } catch (const StoreError& e) {
    if (e.kind() == StoreError::Kind::io || e.kind() == StoreError::Kind::unavailable)
      spdlog::error("store: {}", e.what());
    reply(encode_error(handlers::code_for(e), e.what()));
  } catch (const EngineError& e) {
    reply(encode_error(ErrorCode::engine, e.what()));
  } catch (const std::exception& e) {
    spdlog::error("request failed: {}", e.what());
    reply(encode_error(ErrorCode::internal, e.what()));
  }
}

}  // namespace jobq