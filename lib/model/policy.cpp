#include "model/policy.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <optional>
#include <stdexcept>

namespace jobq {

using nlohmann::json;

namespace {

[[noreturn]] void invalid(const std::string& msg) {
  throw std::invalid_argument(msg);
}

void check_object(const json& fields, const char* what, std::initializer_list<const char*> keys) {
  if (!fields.is_object()) invalid(std::string("'") + what + "' must be an object");
  for (const auto& item : fields.items()) {
    const std::string& k = item.key();
    if (std::none_of(keys.begin(), keys.end(), [&](const char* key) { return k == key; })) {
      std::string known;
      for (const char* key : keys) known += std::string(known.empty() ? "" : ", ") + key;
      invalid(std::string("'") + what + "' has no field '" + k + "' (known: " + known + ")");
    }
  }
}

std::int64_t integer(const json& fields, const char* what, const char* key, std::int64_t lo,
                     std::int64_t hi) {
  const json& v = fields.at(key);
  if (!v.is_number_integer() || v.get<std::int64_t>() < lo || v.get<std::int64_t>() > hi)
    invalid(std::string(what) + "." + key + " must be an integer from " + std::to_string(lo) +
            " to " + std::to_string(hi));
  return v.get<std::int64_t>();
}

std::vector<std::string> words(const json& fields, const char* what, const char* key,
                               const std::vector<std::string>& allowed) {
  const json& v = fields.at(key);
  std::string known;
  for (const auto& a : allowed) known += (known.empty() ? "" : ", ") + a;
  if (!v.is_array()) invalid(std::string(what) + "." + key + " must be a list of: " + known);
  std::vector<std::string> out;
  for (const auto& w : v) {
    if (!w.is_string() ||
        std::find(allowed.begin(), allowed.end(), w.get<std::string>()) == allowed.end())
      invalid(std::string(what) + "." + key + ": '" +
              (w.is_string() ? w.get<std::string>() : w.dump()) + "' is not one of: " + known);
    if (std::find(out.begin(), out.end(), w.get<std::string>()) == out.end())
      out.push_back(w.get<std::string>());
  }
  return out;
}

bool name_chars(std::string_view s, std::size_t max) {
  if (s.empty() || s.size() > max || !std::isalnum(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

bool valid_user(std::string_view s) {
  const auto colon = s.find(':');
  if (colon == std::string_view::npos) return name_chars(s, 64);
  return name_chars(s.substr(0, colon), 64) && name_chars(s.substr(colon + 1), 64);
}

// "root", "0", "000": uid or gid 0.
bool is_root_name(std::string_view s) {
  if (s == "root") return true;
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c == '0'; });
}

// Root as the user, or as the group.
bool is_root_user(std::string_view s) {
  const auto colon = s.find(':');
  if (is_root_name(s.substr(0, colon))) return true;
  return colon != std::string_view::npos && is_root_name(s.substr(colon + 1));
}

// A decimal id from 1 to kMaxId; nullopt otherwise.
constexpr std::int64_t kMaxId = 2'147'483'647;
std::optional<std::int64_t> numeric_id(std::string_view s) {
  if (s.empty() || s.size() > 10 || s[0] == '0') return std::nullopt;
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v < 1 || v > kMaxId) return std::nullopt;
  return v;
}

// "MIN-MAX" -> {MIN, MAX}, ids from 1, MIN <= MAX.
std::optional<std::pair<std::int64_t, std::int64_t>> id_range(std::string_view s) {
  const auto dash = s.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const auto lo = numeric_id(s.substr(0, dash));
  const auto hi = numeric_id(s.substr(dash + 1));
  if (!lo || !hi || *lo > *hi) return std::nullopt;
  return std::pair{*lo, *hi};
}

constexpr std::int64_t kDay = 86'400'000;

}  // namespace

RetryPolicy apply_retry(RetryPolicy p, const json& f) {
  check_object(f, "retry", {"limit", "base_ms", "max_ms", "on"});
  if (f.contains("limit")) p.limit = static_cast<int>(integer(f, "retry", "limit", 0, 100));
  if (f.contains("base_ms")) p.base_ms = integer(f, "retry", "base_ms", 0, kDay);
  if (f.contains("max_ms")) p.max_ms = integer(f, "retry", "max_ms", 0, 7 * kDay);
  if (f.contains("on")) p.on = words(f, "retry", "on", kRetryKinds);
  return p;
}

Resources apply_resources(Resources r, const json& f) {
  check_object(
      f, "resources",
      {"memory_bytes", "nano_cpus", "pids_limit", "network", "read_only", "user", "job_users"});
  if (f.contains("memory_bytes")) {
    r.memory_bytes = integer(f, "resources", "memory_bytes", 0, std::int64_t{1} << 50);
    if (r.memory_bytes != 0 && r.memory_bytes < (6 << 20))
      invalid("resources.memory_bytes: Docker needs at least 6 MiB (or 0 for no limit)");
  }
  if (f.contains("nano_cpus")) {
    r.nano_cpus = integer(f, "resources", "nano_cpus", 0, 1024'000'000'000);
    if (r.nano_cpus != 0 && r.nano_cpus < 10'000'000)
      invalid("resources.nano_cpus: at least 0.01 CPU (10000000), or 0 for no limit");
  }
  if (f.contains("pids_limit")) r.pids_limit = integer(f, "resources", "pids_limit", 0, 1 << 22);
  if (f.contains("network")) {
    const json& v = f.at("network");
    if (!v.is_string() || (!v.get<std::string>().empty() && !name_chars(v.get<std::string>(), 128)))
      invalid(
          "resources.network must be none, bridge, host or a network's name (or \"\" for the "
          "engine's default)");
    r.network = v.get<std::string>();
  }
  if (f.contains("read_only")) {
    if (!f.at("read_only").is_boolean()) invalid("resources.read_only must be true or false");
    r.read_only = f.at("read_only").get<bool>();
  }
  if (f.contains("user")) {
    const json& v = f.at("user");
    if (!v.is_string() || (!v.get<std::string>().empty() && !valid_user(v.get<std::string>())))
      invalid(
          "resources.user must be a user name or uid, optionally :group (or \"\" for the "
          "image's)");
    r.user = v.get<std::string>();
  }
  if (f.contains("job_users")) {
    const json& v = f.at("job_users");
    if (!v.is_string() || (!v.get<std::string>().empty() && !id_range(v.get<std::string>())))
      invalid(
          "resources.job_users must be a range of numeric ids MIN-MAX, both from 1 (e.g. "
          "10000-19999), or \"\" to let no job choose its user");
    r.job_users = v.get<std::string>();
  }
  return r;
}

Webhooks apply_webhooks(Webhooks w, const json& f) {
  check_object(f, "webhooks", {"urls", "on"});
  if (f.contains("urls")) {
    const json& v = f.at("urls");
    if (!v.is_array() || v.size() > 8) invalid("webhooks.urls must be a list of at most 8 URLs");
    w.urls.clear();
    for (const auto& u : v) {
      if (!u.is_string()) invalid("webhooks.urls must hold strings");
      w.urls.push_back(u.get<std::string>());
    }
  }
  if (f.contains("on")) w.on = words(f, "webhooks", "on", kWebhookEvents);
  return w;
}

std::string job_user_excess(const Resources& app, std::string_view user) {
  if (is_root_user(user)) return "a job cannot ask to run as root (user or group)";
  if (app.job_users.empty())
    return "its application lets no job choose its user (an admin may allow a range of ids with "
           "--job-users MIN-MAX)";
  const auto range = id_range(app.job_users);
  const auto colon = user.find(':');
  const auto uid = numeric_id(user.substr(0, colon));
  const auto gid =
      colon == std::string_view::npos ? std::nullopt : numeric_id(user.substr(colon + 1));
  if (!range || !uid || !gid)
    return "a job's user must be numeric UID:GID (both ids, so that no group comes from the "
           "image's files)";
  const auto in = [&](std::int64_t id) { return id >= range->first && id <= range->second; };
  if (!in(*uid) || !in(*gid))
    return "the user " + std::string(user) + " is outside the ids its application allows (" +
           app.job_users + ")";
  return "";
}

std::string resources_excess(const Resources& app, const Resources& job) {
  auto over = [](std::int64_t a, std::int64_t j) { return a > 0 && (j == 0 ? false : j > a); };
  if (over(app.memory_bytes, job.memory_bytes))
    return "the job asks for " + format_size(job.memory_bytes) +
           " of memory; its application "
           "allows " +
           format_size(app.memory_bytes);
  if (over(app.nano_cpus, job.nano_cpus))
    return "the job asks for " + format_cpus(job.nano_cpus) + " CPUs; its application allows " +
           format_cpus(app.nano_cpus);
  if (over(app.pids_limit, job.pids_limit))
    return "the job asks for " + std::to_string(job.pids_limit) +
           " processes; its application "
           "allows " +
           std::to_string(app.pids_limit);
  if (!job.network.empty() && job.network != "none" && job.network != app.network)
    return "a job may only turn its network off (network none); the network belongs to its "
           "application";
  if (!job.job_users.empty()) return "job_users belongs to the application; a job cannot set it";
  if (!job.user.empty() && job.user != app.user) return job_user_excess(app, job.user);
  return "";
}

Resources effective_resources(const Resources& app, const Resources& job) {
  auto lower = [](std::int64_t a, std::int64_t j) {
    if (a == 0) return j;
    if (j == 0) return a;
    return std::min(a, j);
  };
  Resources r = app;
  r.memory_bytes = lower(app.memory_bytes, job.memory_bytes);
  r.nano_cpus = lower(app.nano_cpus, job.nano_cpus);
  r.pids_limit = lower(app.pids_limit, job.pids_limit);
  if (job.network == "none") r.network = "none";
  r.read_only = app.read_only || job.read_only;
  // A job's own user stands only while the application allows one (it may
  // have been given a fixed user since the job was enqueued).
  Resources only_user;
  only_user.user = job.user;
  if (!job.user.empty() && resources_excess(app, only_user).empty()) r.user = job.user;
  return r;
}

std::int64_t retry_delay_ms(const RetryPolicy& p, int retry_index, std::uint64_t random) {
  std::int64_t cap = p.max_ms;
  if (retry_index < 40 && p.base_ms <= (p.max_ms >> std::min(retry_index, 62)))
    cap = std::min(p.max_ms, p.base_ms << retry_index);
  if (cap <= 0) return 0;
  return static_cast<std::int64_t>(random % static_cast<std::uint64_t>(cap + 1));
}

std::optional<std::int64_t> parse_size(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::int64_t mult = 1;
  const char last = static_cast<char>(std::tolower(static_cast<unsigned char>(s.back())));
  if (last == 'b') s.remove_suffix(1);
  if (!s.empty()) {
    const char unit = static_cast<char>(std::tolower(static_cast<unsigned char>(s.back())));
    const std::string_view units = "kmgt";
    if (auto pos = units.find(unit); pos != std::string_view::npos) {
      mult = std::int64_t{1} << (10 * (pos + 1));
      s.remove_suffix(1);
    }
  }
  std::int64_t n = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
  if (ec != std::errc() || end != s.data() + s.size() || n < 0) return std::nullopt;
  if (n > (std::int64_t{1} << 50) / mult) return std::nullopt;
  return n * mult;
}

std::string format_size(std::int64_t bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (u < 4 && bytes >= 1024 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++u;
  }
  return std::to_string(bytes) + " " + units[u];
}

std::string format_cpus(std::int64_t nano) {
  std::string frac = std::to_string(nano % 1'000'000'000 + 1'000'000'000).substr(1);
  while (!frac.empty() && frac.back() == '0') frac.pop_back();
  return std::to_string(nano / 1'000'000'000) + (frac.empty() ? "" : "." + frac);
}

std::optional<std::int64_t> parse_cpus(std::string_view s) {
  if (s.empty() || s.size() > 16) return std::nullopt;
  std::int64_t whole = 0, frac = 0, scale = 1'000'000'000;
  std::size_t i = 0;
  for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i)
    whole = whole * 10 + (s[i] - '0');
  if (i < s.size() && s[i] == '.') {
    ++i;
    for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i) {
      if (scale > 1) {
        scale /= 10;
        frac += (s[i] - '0') * scale;
      }
    }
  }
  if (i != s.size() || whole > 1024) return std::nullopt;
  return whole * 1'000'000'000 + frac;
}

}  // namespace jobq
