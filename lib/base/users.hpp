// The system's users and groups (NSS): names, group membership, group ids.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace jobq {

// The user name of a uid, or the number as text when it has none.
std::string user_name(uid_t uid);
// Whether the user (by uid, with primary gid) is a member of gid, counting
// supplementary groups. False when the user cannot be looked up.
bool in_group(uid_t uid, gid_t primary_gid, gid_t gid);
// Resolves a group name; throws std::runtime_error naming it when unknown.
gid_t group_id(const std::string& name);
// A user's uid by name (or a number as text); nullopt when there is none.
std::optional<uid_t> user_id(const std::string& name);

}  // namespace jobq
