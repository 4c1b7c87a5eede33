// Who may do what. Admins (root, jobqd's own uid, members of the optional
// admin group) define applications and may act on any job; other users
// enqueue and wait, and cancel, hold, release and retry only their own jobs;
// what they read of other users' jobs is in visibility.hpp. Every check
// fails closed: an identity that cannot be resolved is not an admin.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "base/users.hpp"
#include "server/socket_server.hpp"

namespace jobq {

struct AccessPolicy {
  uid_t daemon_uid = 0;
  std::optional<gid_t> admin_gid;
  std::string admin_group;  // its name, for messages
};

bool is_admin(const AccessPolicy& policy, const PeerCred& peer);
// "root", "jobqd's own user", "a member of group jobq-admin": why peer is an admin, or "".
std::string admin_rule(const AccessPolicy& policy);

}  // namespace jobq
