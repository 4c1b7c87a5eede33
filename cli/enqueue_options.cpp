#include "enqueue_options.hpp"

#include <chrono>

#include "base/time_util.hpp"
#include "cli_util.hpp"

namespace jobq {

using nlohmann::json;

std::shared_ptr<EnqueueOptions> EnqueueOptions::add_to(CLI::App& c, For what) {
  auto o = std::make_shared<EnqueueOptions>();
  c.add_option("--env", o->env_, "Extra environment, KEY=VALUE (repeatable)")
      ->type_size(1)
      ->allow_extra_args(false);
  c.add_option("--message", o->message_,
               "JSON handed to the job as JOBQ_MESSAGE; @FILE reads a file, @- stdin");
  c.add_option("--label", o->labels_, "Label, KEY=VALUE (repeatable); also set on the container")
      ->type_size(1)
      ->allow_extra_args(false);
  c.add_option("--priority", o->priority_,
               "Higher starts first within the application (-1000..1000)")
      ->check(CLI::Range(-1000, 1000));
  c.add_option("--timeout", o->timeout_, "Longest this job may run (at most its application's)");
  o->policy_ = PolicyOptions::add_to(c, PolicyOptions::Scope::job);
  if (what == For::each_slot) return o;
  c.add_option("--delay", o->delay_, "Stay pending this long first (e.g. 90s, 2h)");
  c.add_option("--at", o->at_,
               "Stay pending until then: RFC 3339, 'YYYY-MM-DD HH:MM' or 'HH:MM' (local)");
  c.add_option("--key", o->key_,
               "Idempotency key: enqueueing the same key in the application again "
               "(as the same user) returns the first job instead of a new one");
  c.add_option("--after", o->after_,
               "Start only when these jobs succeeded: ID[,ID...] (repeatable); "
               "if one does not, this job is skipped")
      ->type_size(1)
      ->allow_extra_args(false);
  c.add_option("--after-any", o->after_any_,
               "Start only when these jobs ended, however they ended: "
               "ID[,ID...] (repeatable)")
      ->type_size(1)
      ->allow_extra_args(false);
  return o;
}

bool EnqueueOptions::any_given() const {
  return !env_.empty() || !labels_.empty() || !message_.empty() || !key_.empty();
}

bool EnqueueOptions::anything_given() const {
  json args = json::object();
  to_args(args);
  return !args.empty();
}

void EnqueueOptions::to_args(json& args) const {
  if (!env_.empty()) args["env"] = parse_pairs(env_, "--env");
  if (!labels_.empty()) args["labels"] = parse_pairs(labels_, "--label");
  policy_->to_args(args);
  if (!after_.empty()) args["after"] = parse_id_list(after_);
  if (!after_any_.empty()) args["after_any"] = parse_id_list(after_any_);
  if (priority_ != 0) args["priority"] = priority_;
  if (!key_.empty()) args["key"] = key_;
  if (!timeout_.empty()) args["timeout_ms"] = duration_ms(timeout_, "--timeout");
  if (!delay_.empty() && !at_.empty()) throw UsageError("give --delay or --at, not both");
  const auto now = std::chrono::system_clock::now();
  if (!delay_.empty()) {
    auto d = parse_duration(delay_);
    if (!d) throw UsageError("--delay '" + delay_ + "' is not a duration (e.g. 90s, 10m, 2h)");
    args["not_before"] = format_rfc3339(now + *d);
  }
  if (!at_.empty()) {
    auto when = parse_when(at_, now);
    if (!when)
      throw UsageError("--at '" + at_ +
                       "' is not a time (RFC 3339, 'YYYY-MM-DD HH:MM' or 'HH:MM')");
    args["not_before"] = format_unix_ns(*when);
  }
  if (!message_.empty()) {
    const std::string text = read_message(message_);
    if (json::parse(text, nullptr, false).is_discarded())
      throw UsageError("--message is not valid JSON");
    args["message"] = text;
  }
}

}  // namespace jobq
