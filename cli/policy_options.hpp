// The options that set retry policies, container resources and webhooks,
// shared by `jobq app create`, `jobq app update` and `jobq enqueue` (which
// gets the retry and resource ones only). Each option left out is left out
// of the request too, so an update changes only what was named.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

namespace jobq {

class PolicyOptions {
 public:
  enum class Scope { app_create, app_update, job };
  // Registers the options on `cmd`; the returned object must outlive parsing.
  static std::shared_ptr<PolicyOptions> add_to(CLI::App& cmd, Scope scope);
  // Adds "retry", "resources" and "webhooks" objects for what was given;
  // throws UsageError for a malformed value.
  void to_args(nlohmann::json& args) const;

 private:
  Scope scope_ = Scope::job;
  std::string retries, retry_base, retry_max, retry_on;
  std::string memory, cpus, pids, network, user, job_users;
  bool read_only = false, writable = false;
  std::vector<std::string> webhooks;
  std::string notify_on;
  bool no_webhooks = false;
  CLI::Option* network_opt_ = nullptr;  // given at all ("" resets it)
  CLI::Option* user_opt_ = nullptr;
  CLI::Option* job_users_opt_ = nullptr;
};

}  // namespace jobq
