#include "base/users.hpp"

#include <grp.h>
#include <pwd.h>

#include <chrono>
#include <map>
#include <mutex>
#include <stdexcept>
#include <vector>

namespace jobq {

std::string user_name(uid_t uid) {
  // Asked once per request: remembered for a minute (NSS lookups are slow,
  // and a renamed user shows up soon enough).
  static std::mutex mu;
  static std::map<uid_t, std::pair<std::string, std::chrono::steady_clock::time_point>> cache;
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu);
    if (auto it = cache.find(uid);
        it != cache.end() && now - it->second.second < std::chrono::minutes(1))
      return it->second.first;
  }
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* out = nullptr;
  std::string name = std::to_string(uid);
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &out) == 0 && out) name = out->pw_name;
  std::lock_guard lock(mu);
  if (cache.size() > 10'000) cache.clear();
  cache[uid] = {name, now};
  return name;
}

std::optional<uid_t> user_id(const std::string& name) {
  if (name.empty() || name.size() > 256) return std::nullopt;
  if (name.find_first_not_of("0123456789") == std::string::npos && name.size() <= 9)
    return static_cast<uid_t>(std::stoul(name));
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* out = nullptr;
  if (getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &out) != 0 || !out) return std::nullopt;
  return out->pw_uid;
}

bool in_group(uid_t uid, gid_t primary_gid, gid_t gid) {
  if (primary_gid == gid) return true;
  std::vector<char> buf(16384);
  passwd pw{};
  passwd* out = nullptr;
  if (getpwuid_r(uid, &pw, buf.data(), buf.size(), &out) != 0 || !out) return false;
  int n = 64;
  std::vector<gid_t> groups(static_cast<std::size_t>(n));
  if (getgrouplist(out->pw_name, out->pw_gid, groups.data(), &n) < 0) {
    groups.resize(static_cast<std::size_t>(n));
    if (getgrouplist(out->pw_name, out->pw_gid, groups.data(), &n) < 0) return false;
  }
  for (int i = 0; i < n; ++i)
    if (groups[static_cast<std::size_t>(i)] == gid) return true;
  return false;
}

gid_t group_id(const std::string& name) {
  std::vector<char> buf(16384);
  group gr{};
  group* out = nullptr;
  if (getgrnam_r(name.c_str(), &gr, buf.data(), buf.size(), &out) != 0 || !out)
    throw std::runtime_error("no group named '" + name + "' (create it with: groupadd " + name +
                             ")");
  return out->gr_gid;
}

}  // namespace jobq
