// The options that describe one job, shared by `jobq enqueue` and `jobq run`:
// env, labels, message, priority, delay or time, timeout, idempotency key,
// dependencies, and the retry and resource options (policy_options.hpp).
// Each option left out is left out of the enqueue request.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "policy_options.hpp"

namespace jobq {

class EnqueueOptions {
 public:
  // one_job: every option. each_slot (a schedule's job): none of those a
  // slot decides (--delay, --at, --key, --after, --after-any).
  enum class For { one_job, each_slot };
  // Registers the options on `cmd`; the returned object must outlive parsing.
  static std::shared_ptr<EnqueueOptions> add_to(CLI::App& cmd, For what = For::one_job);
  // Whether any option that describes a job was given (--batch takes none).
  bool any_given() const;
  // Whether any option at all was given.
  bool anything_given() const;
  // The enqueue request's fields for what was given (not app or command);
  // throws UsageError for a malformed value.
  void to_args(nlohmann::json& args) const;
  const std::string& key() const { return key_; }

 private:
  std::vector<std::string> env_, labels_, after_, after_any_;
  std::string message_, delay_, at_, timeout_, key_;
  int priority_ = 0;
  std::shared_ptr<PolicyOptions> policy_;
};

}  // namespace jobq
