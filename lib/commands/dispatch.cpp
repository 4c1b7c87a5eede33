#include "commands/dispatch.hpp"

#include <vector>

#include <spdlog/spdlog.h>

#include "base/suggest.hpp"
#include "commands/handlers.hpp"
#include "wire/commands.hpp"
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
    {.name = cmd::status, .handler = handlers::status},
    {.name = cmd::metrics, .handler = handlers::metrics},
    {.name = cmd::stats, .handler = handlers::stats},
    {.name = cmd::prune, .admin = true, .handler = handlers::prune},
    {.name = cmd::app_create, .admin = true, .handler = handlers::app_create},
    {.name = cmd::app_update, .admin = true, .handler = handlers::app_update},
    {.name = cmd::app_delete, .admin = true, .handler = handlers::app_delete},
    {.name = cmd::app_list, .handler = handlers::app_list},
    {.name = cmd::app_show, .handler = handlers::app_show},
    {.name = cmd::app_pause, .admin = true, .handler = handlers::app_pause},
    {.name = cmd::app_resume, .admin = true, .handler = handlers::app_resume},
    {.name = cmd::hold, .handler = handlers::hold},
    {.name = cmd::release, .handler = handlers::release},
    {.name = cmd::update, .handler = handlers::update},
    {.name = cmd::retry, .handler = handlers::retry},
    {.name = cmd::enqueue, .handler = handlers::enqueue},
    {.name = cmd::enqueue_batch, .handler = handlers::enqueue_batch},
    {.name = cmd::show, .handler = handlers::show},
    {.name = cmd::list, .handler = handlers::list},
    {.name = cmd::logs, .handler = handlers::logs},
    {.name = cmd::wait, .handler = handlers::wait},
    {.name = cmd::cancel, .handler = handlers::cancel},
    {.name = cmd::schedule_create, .handler = handlers::schedule_create},
    {.name = cmd::schedule_update, .handler = handlers::schedule_update},
    {.name = cmd::schedule_list, .handler = handlers::schedule_list},
    {.name = cmd::schedule_show, .handler = handlers::schedule_show},
    {.name = cmd::schedule_pause, .handler = handlers::schedule_pause},
    {.name = cmd::schedule_resume, .handler = handlers::schedule_resume},
    {.name = cmd::schedule_delete, .handler = handlers::schedule_delete},
    {.name = cmd::schedule_run, .handler = handlers::schedule_run},
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