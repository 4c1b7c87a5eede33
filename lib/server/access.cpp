#include "server/access.hpp"

namespace jobq {

bool is_admin(const AccessPolicy& policy, const PeerCred& peer) {
  if (peer.uid == static_cast<uid_t>(-1)) return false;
  if (peer.uid == 0 || peer.uid == policy.daemon_uid) return true;
  return policy.admin_gid && in_group(peer.uid, peer.gid, *policy.admin_gid);
}

std::string admin_rule(const AccessPolicy& policy) {
  std::string rule = "root or jobqd's own user (" + user_name(policy.daemon_uid) + ")";
  if (policy.admin_gid) rule += ", or a member of group " + policy.admin_group;
  return rule;
}

}  // namespace jobq
