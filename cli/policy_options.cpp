#include "policy_options.hpp"

#include <sstream>

#include "cli_util.hpp"
#include "model/policy.hpp"

namespace jobq {

using nlohmann::json;

namespace {

std::vector<std::string> split_words(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string w;
  while (std::getline(ss, w, ','))
    if (!w.empty()) out.push_back(w);
  return out;
}

std::int64_t count(const std::string& s, const char* option, std::int64_t max) {
  try {
    std::size_t pos = 0;
    const long long v = std::stoll(s, &pos);
    if (pos == s.size() && v >= 0 && v <= max) return v;
  } catch (...) {
  }
  throw UsageError(std::string(option) + " '" + s + "' must be a whole number from 0 to " +
                   std::to_string(max));
}

// A duration where 0 is allowed (no delay).
std::int64_t delay_ms(const std::string& s, const char* option) {
  return s == "0" ? 0 : duration_ms(s, option);
}

}  // namespace

std::shared_ptr<PolicyOptions> PolicyOptions::add_to(CLI::App& c, Scope scope) {
  auto p = std::make_shared<PolicyOptions>();
  p->scope_ = scope;
  const bool job = scope == Scope::job;
  c.add_option("--retries", p->retries, "Retry a failed attempt up to N times (0..100)");
  c.add_option("--retry-base", p->retry_base,
               "First retry delay bound (e.g. 1s); doubles per retry");
  c.add_option("--retry-max", p->retry_max, "Largest retry delay bound (e.g. 5m)");
  c.add_option("--retry-on", p->retry_on,
               "Failures to retry, comma-separated: exit,oom,lost,launch,timeout "
               "(default exit,oom,lost,launch)");
  c.add_option(
      "--memory", p->memory,
      job ? "Memory limit, at most the application's (e.g. 64m, 1g)"
          : "Memory limit per job (e.g. 64m, 1g; 0 = none); over it the job is OOM-killed");
  c.add_option("--cpus", p->cpus,
               job ? "CPU limit, at most the application's (e.g. 0.5)"
                   : "CPU limit per job (e.g. 0.5, 2; 0 = none)");
  c.add_option(
      "--pids", p->pids,
      job ? "Process limit, at most the application's" : "Process (pids) limit per job (0 = none)");
  p->network_opt_ = c.add_option(
      "--network", p->network,
      job ? "Only 'none': run this job without a network"
          : "Network: none, bridge, host or a network's name (\"\" = Docker's default)");
  c.add_flag("--read-only", p->read_only, "Read-only root filesystem");
  p->user_opt_ = c.add_option(
      "--user", p->user,
      job ? "Run as numeric UID:GID, within the ids the application allows (--job-users)"
          : "Run jobs as user[:group] (\"\" = the image's)");
  if (!job)
    p->job_users_opt_ = c.add_option("--job-users", p->job_users,
                                     "Ids a job may run as with --user UID:GID, e.g. 10000-19999 "
                                     "(\"\" = none may choose)");
  if (scope == Scope::app_update)
    c.add_flag("--writable", p->writable, "Writable root filesystem again");
  if (!job) {
    c.add_option("--webhook", p->webhooks,
                 "POST each notification to this http(s) URL (repeatable; replaces the list)")
        ->type_size(1)
        ->allow_extra_args(false);
    c.add_option("--notify-on", p->notify_on,
                 "Events, comma-separated: success,failure,final-failure,slot-missed,slot-skipped "
                 "(default final-failure)");
    if (scope == Scope::app_update)
      c.add_flag("--no-webhooks", p->no_webhooks, "Remove every webhook");
  }
  return p;
}

void PolicyOptions::to_args(json& args) const {
  json retry = json::object();
  if (!retries.empty()) retry["limit"] = count(retries, "--retries", 100);
  if (!retry_base.empty()) retry["base_ms"] = delay_ms(retry_base, "--retry-base");
  if (!retry_max.empty()) retry["max_ms"] = delay_ms(retry_max, "--retry-max");
  if (!retry_on.empty()) retry["on"] = split_words(retry_on);
  if (!retry.empty()) args["retry"] = retry;

  json res = json::object();
  if (!memory.empty()) {
    const auto bytes = parse_size(memory);
    if (!bytes) throw UsageError("--memory '" + memory + "' is not a size (e.g. 64m, 1g, 0)");
    res["memory_bytes"] = *bytes;
  }
  if (!cpus.empty()) {
    const auto nano = parse_cpus(cpus);
    if (!nano) throw UsageError("--cpus '" + cpus + "' is not a number of CPUs (e.g. 0.5, 2)");
    res["nano_cpus"] = *nano;
  }
  if (!pids.empty()) res["pids_limit"] = count(pids, "--pids", 1 << 22);
  if (network_opt_->count() > 0) res["network"] = network;
  if (read_only && writable) throw UsageError("give --read-only or --writable, not both");
  if (read_only) res["read_only"] = true;
  if (writable) res["read_only"] = false;
  if (user_opt_->count() > 0) res["user"] = user;
  if (job_users_opt_ && job_users_opt_->count() > 0) res["job_users"] = job_users;
  if (!res.empty()) args["resources"] = res;

  json hooks = json::object();
  if (no_webhooks && !webhooks.empty())
    throw UsageError("give --webhook or --no-webhooks, not both");
  if (!webhooks.empty()) hooks["urls"] = webhooks;
  if (no_webhooks) hooks["urls"] = json::array();
  if (!notify_on.empty()) hooks["on"] = split_words(notify_on);
  if (!hooks.empty()) args["webhooks"] = hooks;
}

}  // namespace jobq
