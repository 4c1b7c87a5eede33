// The per-application policies a job inherits and may narrow: retries,
// container resources, webhooks. One JSON shape serves the protocol and the
// store (see PROTOCOL.md); each apply_* takes an object holding any subset
// of the fields and returns the policy with those fields replaced, or
// throws std::invalid_argument naming the field and the allowed values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "model/model.hpp"

namespace jobq {

RetryPolicy apply_retry(RetryPolicy base, const nlohmann::json& fields);
Resources apply_resources(Resources base, const nlohmann::json& fields);
Webhooks apply_webhooks(Webhooks base, const nlohmann::json& fields);

// Why a job may not run as `user` (user[:group] as given to the engine) in
// an application with these resources; "" when it may. The rule, checkable
// without reading the image: the application names a range of ids
// (job_users); the job's user is numeric UID:GID with both ids in it, never
// 0. With the group explicit, the engine adds no supplementary group from
// the image's /etc/group, so the job runs with exactly that uid and gid.
std::string job_user_excess(const Resources& app, std::string_view user);
// Why a job's resources ask for more than its application allows (a job may
// lower limits, never raise them); "" when they do not.
std::string resources_excess(const Resources& app, const Resources& job);
// What the container gets: the application's limits, lowered by the job's.
Resources effective_resources(const Resources& app, const Resources& job);

// Full jitter: a delay drawn from [0, min(max_ms, base_ms * 2^retry_index)]
// using `random` (any 64 random bits).
std::int64_t retry_delay_ms(const RetryPolicy& p, int retry_index, std::uint64_t random);

// "64m", "1g", "512k", "1048576" (bytes) -> bytes; nullopt when malformed.
std::optional<std::int64_t> parse_size(std::string_view s);
// "0.5", "2" -> nano CPUs; nullopt when malformed.
std::optional<std::int64_t> parse_cpus(std::string_view s);
std::string format_cpus(std::int64_t nano_cpus);  // "0.5", "2"
std::string format_size(std::int64_t bytes);      // "64 MiB", "1000 bytes"

}  // namespace jobq
