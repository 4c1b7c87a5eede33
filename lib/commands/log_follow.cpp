#include "commands/log_follow.hpp"

#include <set>

#include <spdlog/spdlog.h>

#include "base/base64.hpp"
#include "wire/protocol.hpp"

namespace jobq {

using nlohmann::json;

namespace {

constexpr std::size_t kBacklogCap = 1 << 20;  // bytes a client may have unread

struct ClientGone {};

const Attempt* find_attempt(const Job& job, int number) {
  for (const auto& a : job.attempts)
    if (a.number == number) return &a;
  return nullptr;
}

}  // namespace

LogFollowers::LogFollowers(Store& store, const Runtimes& runtimes, std::size_t max_followers,
                           std::size_t per_user)
    : store_(store), runtimes_(runtimes), max_(max_followers), per_user_(per_user) {}

LogFollowers::~LogFollowers() {
  stop();
}

bool LogFollowers::stopping() {
  std::lock_guard lock(mu_);
  return stopping_;
}

LogFollowers::Started LogFollowers::follow(const LogRequest& req, Responder reply, uid_t uid,
                                           bool exempt) {
  std::lock_guard lock(mu_);
  for (auto id : finished_) {
    auto it = threads_.find(id);
    if (it != threads_.end()) {
      it->second.join();
      threads_.erase(it);
    }
  }
  finished_.clear();
  if (stopping_) return Started::stopping;
  if (threads_.size() >= max_) return Started::all_taken;
  auto& mine = by_uid_[uid];
  if (!exempt && mine >= per_user_) return Started::user_share;
  ++mine;
  const auto id = next_id_++;
  threads_.emplace(id, std::thread([this, id, req, reply, uid] {
                     try {
                       run(req, reply);
                     } catch (const ClientGone&) {
                     } catch (const StoreError& e) {
                       reply(encode_error(ErrorCode::internal, e.what()));
                     } catch (const std::exception& e) {
                       spdlog::warn("job {}: following its output: {}", req.job_id, e.what());
                       reply(encode_error(ErrorCode::internal, e.what()));
                     }
                     std::lock_guard done(mu_);
                     finished_.push_back(id);
                     if (auto it = by_uid_.find(uid); it != by_uid_.end() && --it->second == 0)
                       by_uid_.erase(it);
                   }));
  return Started::yes;
}

void throw_unless_started(const LogFollowers& followers, LogFollowers::Started started) {
  switch (started) {
    case LogFollowers::Started::yes:
      return;
    case LogFollowers::Started::user_share:
      throw ProtocolError(
          ErrorCode::unavailable,
          "you are following output " + std::to_string(followers.per_user()) +
              " times already, your share (jobqd --follows-per-user); end one and try again");
    case LogFollowers::Started::all_taken:
      throw ProtocolError(ErrorCode::unavailable,
                          "all " + std::to_string(followers.max_followers()) +
                              " follow slots are taken (jobqd --max-follows); try again later");
    case LogFollowers::Started::stopping:
      break;
  }
  throw ProtocolError(ErrorCode::unavailable, "jobqd is stopping");
}

void LogFollowers::stop() {
  std::map<std::uint64_t, std::thread> threads;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    threads.swap(threads_);
  }
  for (auto& [id, t] : threads) t.join();
}

void LogFollowers::run(const LogRequest& req, const Responder& reply) {
  const auto keep_going = [&] { return !stopping() && reply.client_alive(); };
  const auto send = [&](int attempt, LogStream stream, std::string_view bytes) {
    while (reply.backlog() > kBacklogCap && keep_going())
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (!keep_going()) throw ClientGone{};
    reply.partial(
        encode_partial(json{{"attempt", attempt},
                            {"stream", stream == LogStream::stdout_stream ? "stdout" : "stderr"},
                            {"data_base64", base64_encode(bytes)}}));
  };
  const auto wanted = [&](LogStream s) {
    return s == LogStream::stdout_stream ? req.want_stdout : req.want_stderr;
  };

  std::optional<int> next = req.attempt;  // the attempt to show next
  std::set<int> streamed_live;            // attempts whose output came from the engine
  bool first = true;                      // --tail applies to the first attempt shown
  for (;;) {
    if (!keep_going()) throw ClientGone{};
    const auto job = store_.get_job(req.job_id);
    if (!job) {
      reply(
          encode_error(ErrorCode::not_found, "job " + std::to_string(req.job_id) + " was removed"));
      return;
    }
    if (!next && !job->attempts.empty()) next = job->attempts.back().number;
    const Attempt* a = next ? find_attempt(*job, *next) : nullptr;
    const bool attempt_final = a && is_final(a->state);
    // A runtime that cannot follow a run gives its output once it is stored.
    Runtime* runtime = a ? runtimes_.find(a->runtime) : nullptr;
    if (a && a->state == JobState::running && !streamed_live.count(a->number) && runtime &&
        runtime->capabilities().follow) {
      LogOptions opts;
      opts.follow = true;
      opts.timestamps = req.filter.timestamps;
      opts.since_ns = req.filter.since_ns;
      opts.tail = first ? req.filter.tail : -1;
      bool got = false;
      try {
        runtime->output(
            a->container_name, opts,
            [&](LogStream s, std::string_view bytes) {
              if (!wanted(s)) return;
              got = true;
              send(a->number, s, bytes);
            },
            keep_going);
      } catch (const EngineError& e) {
        if (e.kind() != EngineError::Kind::not_found)
          spdlog::debug("job {}: following attempt {}: {}", req.job_id, a->number, e.what());
      }
      if (!keep_going()) throw ClientGone{};
      if (got) {
        streamed_live.insert(a->number);
        first = false;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));  // ended, not yet recorded
      }
      continue;  // look again: the attempt is ending, or the stream broke
    }
    if (attempt_final) {
      if (!streamed_live.count(a->number)) {
        LogFilter f = req.filter;
        if (!first) f.tail = -1;
        for (auto s : {LogStream::stdout_stream, LogStream::stderr_stream}) {
          if (!wanted(s)) continue;
          if (auto log = store_.get_log(job->id, a->number, s)) {
            const auto shown = filter_log(log->data, log->timestamped, f);
            if (!shown.empty()) send(a->number, s, shown);
          }
        }
        first = false;
      }
      const bool last =
          req.attempt || (is_final(job->state) && a->number == job->attempts.back().number);
      if (last) break;
      next = a->number + 1;  // a retry follows
      continue;
    }
    if (!a && is_final(job->state)) break;  // ended without (this) attempt: never ran
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  const auto job = store_.get_job(req.job_id);
  json done{{"id", req.job_id}};
  if (job) {
    done["state"] = to_string(job->state);
    done["exit_code"] = job->exit_code ? json(*job->exit_code) : json(nullptr);
  }
  reply(encode_ok(done));
}

}  // namespace jobq
