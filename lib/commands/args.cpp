// Argument checks and lookups shared by the command handlers.
#include "commands/handlers.hpp"

#include "model/policy.hpp"
#include "notify/http_post.hpp"

namespace jobq::handlers {

bool has_nul(std::string_view s) {
  return s.find('\0') != std::string_view::npos;
}

EnvMap checked_env(const std::optional<EnvMap>& env, const char* field) {
  if (!env) return {};
  for (const auto& [k, v] : *env) {
    if (!valid_env_name(k))
      bad(std::string(field) + ": '" + k +
          "' is not a valid environment variable name (letters, digits and _, not starting with a "
          "digit)");
    if (has_nul(v)) bad(std::string(field) + ": the value of " + k + " contains a NUL byte");
  }
  return *env;
}

std::int64_t job_id_arg(ArgReader& r) {
  auto id = r.integer("id");
  if (!id) bad("field 'id' is required");
  if (*id <= 0) bad("job ids are positive integers");
  return *id;
}

Job must_get_job(DaemonContext& ctx, std::int64_t id) {
  auto job = ctx.store.get_job(id);
  if (!job) throw ProtocolError(ErrorCode::not_found, "no job with id " + std::to_string(id));
  return *job;
}

Job owned_job(DaemonContext& ctx, std::int64_t id, const Call& call, const char* verb) {
  Job job = must_get_job(ctx, id);
  if (is_admin(ctx.info.access, call.peer) ||
      job.submitter_uid == static_cast<std::int64_t>(call.peer.uid))
    return job;
  throw ProtocolError(ErrorCode::forbidden,
                      "job " + std::to_string(job.id) + " belongs to " + job.submitter_name +
                          "; users may " + verb +
                          " only their own jobs (admins: " + admin_rule(ctx.info.access) + ")");
}

Webhooks checked_webhooks(const Webhooks& w) {
  for (const auto& url : w.urls)
    if (!valid_webhook_url(url))
      bad("webhooks.urls: '" + url + "' is not an http:// or https:// URL");
  return w;
}

std::optional<std::int64_t> timeout_arg(ArgReader& r) {
  auto t = r.integer("timeout_ms");
  if (t && (*t < 0 || *t > kMaxTimeoutMs))
    bad("'timeout_ms' must be between 0 (none) and " + std::to_string(kMaxTimeoutMs));
  return t;
}

ErrorCode code_for(const StoreError& e) {
  switch (e.kind()) {
    case StoreError::Kind::not_found:
      return ErrorCode::not_found;
    case StoreError::Kind::conflict:
      return ErrorCode::conflict;
    case StoreError::Kind::invalid:
      return ErrorCode::bad_request;
    case StoreError::Kind::io:
      return ErrorCode::internal;
    case StoreError::Kind::unavailable:
      return ErrorCode::unavailable;
  }
  return ErrorCode::internal;
}

}  // namespace jobq::handlers
