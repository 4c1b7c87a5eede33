#include "runtime/docker/warm_pool.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <thread>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "base/fault.hpp"
#include "base/time_util.hpp"
#include "runtime/docker/docker_runtime.hpp"

namespace jobq {

namespace {

constexpr const char* kSpecLabel = "jobq.warm.spec";
constexpr const char* kCommandLabel = "jobq.warm.command";
constexpr long kStartsAtOnce = 4;

std::string label_of(const LabelMap& labels, const char* key) {
  const auto it = labels.find(key);
  return it == labels.end() ? std::string() : it->second;
}

// A limit the job may have in a container made with `pool`'s: the same, or
// lower (lowered in place); none where the pool has one never fits.
bool limit_fits(std::int64_t pool, std::int64_t job) {
  return job == pool || (job > 0 && (pool == 0 || job < pool));
}

bool same_limits(const Resources& a, const Resources& b) {
  return a.memory_bytes == b.memory_bytes && a.nano_cpus == b.nano_cpus &&
         a.pids_limit == b.pids_limit;
}

bool has_limits(const Resources& r) {
  return r.memory_bytes > 0 || r.nano_cpus > 0 || r.pids_limit > 0;
}

std::string random_hex(int bytes) {
  static thread_local std::mt19937_64 gen{std::random_device{}()};
  std::string out;
  for (int i = 0; i < bytes; ++i) {
    const auto b = static_cast<unsigned>(gen() & 0xff);
    out += "0123456789abcdef"[b >> 4];
    out += "0123456789abcdef"[b & 15];
  }
  return out;
}

ImageCommand command_from_label(const std::string& text) {
  ImageCommand c;
  const auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_object()) {
    c.entrypoint = j.value("entrypoint", std::vector<std::string>{});
    c.cmd = j.value("cmd", std::vector<std::string>{});
  }
  return c;
}

// The job file's mtime (the hand-off), in Unix ns; nullopt when absent.
std::optional<std::int64_t> handed_at(const std::string& root, const std::string& pool) {
  struct stat sb {};
  const std::string path = root + "/" + pool + "/job";
  if (::stat(path.c_str(), &sb) != 0) return std::nullopt;
  return static_cast<std::int64_t>(sb.st_mtim.tv_sec) * 1'000'000'000LL + sb.st_mtim.tv_nsec;
}

}  // namespace

bool warm_fits(const RunSpec& pool, const RunSpec& job) {
  const Resources& p = pool.resources;
  const Resources& j = job.resources;
  return pool.image == job.image && p.user == j.user && p.network == j.network &&
         p.read_only == j.read_only && limit_fits(p.memory_bytes, j.memory_bytes) &&
         limit_fits(p.nano_cpus, j.nano_cpus) && limit_fits(p.pids_limit, j.pids_limit);
}

std::string warm_spec_hash(const RunSpec& s, const std::string& image_id) {
  const Resources& r = s.resources;
  const std::string text =
      nlohmann::json{{"image", s.image},         {"image_id", image_id},     {"env", s.env},
                     {"memory", r.memory_bytes}, {"cpus", r.nano_cpus},      {"pids", r.pids_limit},
                     {"network", r.network},     {"read_only", r.read_only}, {"user", r.user}}
          .dump();
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a: the same in every build
  for (const char c : text) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

std::string warm_job_file(const ImageCommand& image, const RunSpec& spec) {
  std::vector<std::string> argv = image.entrypoint;
  const auto& cmd = spec.cmd ? *spec.cmd : image.cmd;
  argv.insert(argv.end(), cmd.begin(), cmd.end());
  std::string out = "jobq-warm 1";
  out += '\0';
  out += std::to_string(argv.size());
  out += '\0';
  for (const auto& a : argv) {
    out += a;
    out += '\0';
  }
  out += std::to_string(spec.env.size());
  out += '\0';
  for (const auto& e : spec.env) {
    out += e;
    out += '\0';
  }
  return out;
}

RunStatus warm_status(const std::string& root, const ContainerState& st, RunStatus seen) {
  const std::string pool = label_of(st.labels, kWarmLabel);
  const auto at = root.empty() ? std::nullopt : handed_at(root, pool);
  if (!at) {
    // Still waiting for its job: the job has not started.
    seen.started_at.clear();
    seen.finished_at.clear();
    if (seen.phase == RunPhase::running) {
      seen.phase = RunPhase::queued;
    } else if (seen.phase == RunPhase::ended) {
      seen.phase = RunPhase::launch_failed;
      seen.message = "its warm container ended (exit code " + std::to_string(st.exit_code) +
                     ") before its job was handed to it";
    }
    return seen;
  }
  seen.warm_started_at = seen.started_at;
  seen.started_at = format_unix_ns(*at);
  seen.times_from = TimeSource::handoff;
  return seen;
}

WarmPool::WarmPool(ContainerEngine& engine, std::string instance, WarmOptions opts)
    : engine_(engine), instance_(std::move(instance)), opts_(std::move(opts)) {}

std::string WarmPool::dir_of(const std::string& pool) const {
  return opts_.root + "/" + pool;
}

std::optional<WarmPool::Idle> WarmPool::take(const std::string& app, const RunSpec& spec) {
  std::lock_guard lock(mu_);
  // The newest first: the oldest are the first to go at their idle time.
  for (auto it = idle_.rbegin(); it != idle_.rend(); ++it) {
    if (it->app != app || !warm_fits(it->spec, spec)) continue;
    Idle w = std::move(*it);
    idle_.erase(std::next(it).base());
    busy_.insert(w.pool);
    return w;
  }
  return std::nullopt;
}

void WarmPool::give_back(Idle w) {
  std::lock_guard lock(mu_);
  busy_.erase(w.pool);
  idle_.push_back(std::move(w));
}

void WarmPool::discard(const std::string& pool) {
  try {
    engine_.remove(pool);
  } catch (const EngineError& e) {
    spdlog::warn("warm: could not remove {}: {}", pool, e.what());
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_of(pool), ec);
  std::lock_guard lock(mu_);
  busy_.erase(pool);
}

void WarmPool::write_job(const std::string& pool, const std::string& content) {
  const std::string dir = dir_of(pool);
  const std::string tmp = dir + "/job.tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  // Readable by the container's user whatever jobqd's umask (the unit's is 0077).
  if (fd < 0 || ::fchmod(fd, 0644) != 0) {
    const int err = errno;
    if (fd >= 0) ::close(fd);
    throw EngineError(EngineError::Kind::server, 0,
                      "cannot write the job of " + pool + ": " + std::strerror(err));
  }
  std::size_t done = 0;
  while (done < content.size()) {
    const ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      throw EngineError(EngineError::Kind::server, 0,
                        "cannot write the job of " + pool + ": " + std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
  // Its mtime is the run's start: the clock now, not the file system's
  // coarser one.
  timespec now{};
  ::clock_gettime(CLOCK_REALTIME, &now);
  const timespec times[2] = {now, now};
  ::futimens(fd, times);
  ::close(fd);
  if (::rename(tmp.c_str(), (dir + "/job").c_str()) != 0)
    throw EngineError(EngineError::Kind::server, 0,
                      "cannot hand the job to " + pool + ": " + std::strerror(errno));
}

std::optional<RunStatus> WarmPool::hand_off(const RunKey& key, const RunSpec& spec,
                                            const Runtime::CreatedFn& on_created) {
  for (;;) {
    auto w = take(key.app, spec);
    if (!w) return std::nullopt;
    const std::string job = warm_job_file(w->command, spec);
    if (w->command.entrypoint.empty() && !spec.cmd && w->command.cmd.empty()) {
      give_back(std::move(*w));  // no command at all: the engine's own error, cold
      return std::nullopt;
    }
    try {
      engine_.rename(w->pool, spec.name);
    } catch (const EngineError& e) {
      if (e.kind() == EngineError::Kind::not_found) {
        // Gone, or renamed by a call whose answer was lost (its hand-off
        // directory may be a run's: tend sweeps it once no container has it).
        std::lock_guard lock(mu_);
        busy_.erase(w->pool);
        continue;
      }
      give_back(std::move(*w));
      if (e.kind() == EngineError::Kind::conflict) return std::nullopt;  // N is there: adopt it
      throw;
    }
    fault_point("after_warm_rename");
    {
      std::lock_guard lock(mu_);
      busy_.erase(w->pool);  // a run now, by its new name
      handed_.insert(w->pool);
    }
    if (!same_limits(w->spec.resources, spec.resources)) {
      try {
        engine_.update_limits(spec.name, spec.resources);
      } catch (const EngineError& e) {
        // Renamed but not recorded: it never had the job. Removed; this
        // launch goes cold.
        spdlog::warn("warm: could not lower the limits of {} for job {}: {}", spec.name, key.job_id,
                     e.what());
        discard(spec.name);
        std::error_code ec;
        std::filesystem::remove_all(dir_of(w->pool), ec);
        return std::nullopt;  // cold
      }
    }
    const auto st = engine_.inspect(spec.name);
    if (!st || !st->running) {
      // It died idle (renamed, unrecorded: it never had the job): another.
      spdlog::warn("warm: {} was no longer running at the hand-off of job {}", w->pool, key.job_id);
      discard(spec.name);
      std::error_code ec;
      std::filesystem::remove_all(dir_of(w->pool), ec);
      continue;
    }
    if (on_created) on_created(st->id, st->id);
    write_job(w->pool, job);
    fault_point("after_handoff");
    return warm_status(opts_.root, *st, status_of(*st));
  }
}

RunStatus WarmPool::finish(const ContainerState& st, const RunSpec& spec) {
  const std::string pool = label_of(st.labels, kWarmLabel);
  if (!handed_at(opts_.root, pool)) {
    // Not handed yet. A container that no longer runs never had the job: the
    // engine's trouble, so the runner removes it and launches again.
    if (!st.running)
      throw EngineError(EngineError::Kind::server, 0,
                        spec.name + ": its warm container ended before its job was handed to it");
    try {
      if (has_limits(spec.resources)) engine_.update_limits(spec.name, spec.resources);
    } catch (const EngineError& e) {
      throw EngineError(EngineError::Kind::server, e.http_status(), e.what());
    }
    write_job(pool, warm_job_file(command_from_label(label_of(st.labels, kCommandLabel)), spec));
  }
  const auto now = engine_.inspect(spec.name);
  if (!now) return RunStatus{};
  return warm_status(opts_.root, *now, status_of(*now));
}

void WarmPool::make_one(const WarmTarget& t, const std::string& hash, const ImageCommand& command) {
  const std::string pool = "jobq-" + instance_ + "-warm-" + random_hex(8);
  {
    std::lock_guard lock(mu_);
    busy_.insert(pool);
  }
  try {
    // A missing bind source would be made a directory by the engine.
    if (::access(opts_.helper.c_str(), X_OK) != 0)
      throw EngineError(EngineError::Kind::rejected, 0,
                        opts_.helper + " (the warm containers' entrypoint) is missing");
    const std::string dir = dir_of(pool);
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec || ::chmod(dir.c_str(), 0755) != 0)
      throw EngineError(EngineError::Kind::server, 0, "cannot make " + dir + ": " + ec.message());
    RunSpec s = t.spec;
    s.name = pool;
    s.cmd = std::vector<std::string>{};
    s.labels[kInstanceLabel] = instance_;
    s.labels[kAppLabel] = t.app;
    s.labels[kWarmLabel] = pool;
    s.labels[kSpecLabel] = hash;
    s.labels[kCommandLabel] =
        nlohmann::json{{"entrypoint", command.entrypoint}, {"cmd", command.cmd}}.dump();
    ContainerExtras extras;
    extras.entrypoint = {kWarmHelperPath};
    extras.binds = {opts_.helper + ":" + kWarmHelperPath + ":ro",
                    dir + ":" + kWarmHandoffPath + ":ro"};
    engine_.create_with(s, extras);
    engine_.start(pool);
    std::lock_guard lock(mu_);
    busy_.erase(pool);
    idle_.push_back(Idle{pool, t.app, hash, t.spec, command, std::chrono::steady_clock::now()});
  } catch (const std::exception& e) {
    spdlog::warn("warm: could not start a warm container of {}: {}", t.app, e.what());
    discard(pool);
    throw;
  }
}

void WarmPool::tend(const std::vector<WarmTarget>& targets, std::chrono::milliseconds idle_ttl,
                    const Runtime::MayStartFn& may_start) {
  struct Want {
    const WarmTarget* target;
    std::optional<ImageCommand> image;  // nullopt: its image could not be read this round
    std::string hash;
  };
  std::map<std::string, Want> wanted;  // by application
  for (const auto& t : targets) {
    Want& w = wanted[t.app] = Want{&t, std::nullopt, ""};
    try {
      // Its id too: a tag pulled anew replaces the pool, as it changes
      // what a cold launch runs.
      w.image = engine_.image_command(t.spec.image);
      w.hash = warm_spec_hash(t.spec, w.image->id);
    } catch (const EngineError& e) {
      // None made, those there kept (within their size and time) until
      // it can be read.
      spdlog::debug("warm: image {} of {}: {}", t.spec.image, t.app, e.what());
    }
  }
  const auto now = std::chrono::steady_clock::now();
  std::set<std::string> alive;  // pool names with a container, renamed or not
  std::vector<std::string> drop;
  for (const auto& c : engine_.list(kInstanceLabel, instance_)) {
    const std::string pool = label_of(c.labels, kWarmLabel);
    if (pool.empty()) continue;
    alive.insert(pool);
    if (c.name != pool) {  // a run now (renamed by an earlier jobqd, or behind us)
      std::lock_guard lock(mu_);
      std::erase_if(idle_, [&](const Idle& w) { return w.pool == pool; });
      continue;
    }
    const auto want = wanted.find(label_of(c.labels, kAppLabel));
    const bool fits = c.state == "running" && want != wanted.end() &&
                      (!want->second.image || label_of(c.labels, kSpecLabel) == want->second.hash);
    std::lock_guard lock(mu_);
    // Taken, or handed off since the list was made (it is a run now).
    if (busy_.count(pool) || handed_.count(pool)) continue;
    const auto it =
        std::find_if(idle_.begin(), idle_.end(), [&](const Idle& w) { return w.pool == pool; });
    // Only a container this jobqd made is handed a job. One an earlier jobqd
    // left is removed: a request of that jobqd may still be in flight (its
    // remove of that container could land after the hand-off, and take the
    // job's run with it).
    if (it != idle_.end() && fits && now - it->since <= idle_ttl) continue;
    if (it != idle_.end()) idle_.erase(it);
    busy_.insert(pool);
    drop.push_back(pool);
  }
  {
    // Beyond a pool's size: the oldest go. Gone from the engine: forgotten.
    std::lock_guard lock(mu_);
    std::erase_if(handed_, [&](const std::string& p) { return !alive.count(p); });
    std::map<std::string, int> count;
    for (auto it = idle_.rbegin(); it != idle_.rend();) {
      const auto want = wanted.find(it->app);
      const int size = want == wanted.end() ? 0 : want->second.target->size;
      if (!alive.count(it->pool) || ++count[it->app] > size) {
        if (alive.count(it->pool)) {
          busy_.insert(it->pool);
          drop.push_back(it->pool);
        }
        it = std::make_reverse_iterator(idle_.erase(std::next(it).base()));
      } else {
        ++it;
      }
    }
  }
  for (const auto& pool : drop) discard(pool);
  // Hand-off directories of containers no longer there.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(opts_.root, ec)) {
    const std::string pool = entry.path().filename().string();
    std::lock_guard lock(mu_);
    if (!alive.count(pool) && !busy_.count(pool)) std::filesystem::remove_all(entry.path(), ec);
  }
  // Started a few at a time (the engine's create and start are the slow part).
  for (const auto& entry : wanted) {
    const std::string& app = entry.first;
    const Want& want = entry.second;
    if (!want.image) continue;
    for (;;) {
      long need;
      {
        std::lock_guard lock(mu_);
        need = want.target->size - std::count_if(idle_.begin(), idle_.end(),
                                                 [&](const Idle& w) { return w.app == app; });
      }
      if (need <= 0 || !may_start(app)) break;
      std::atomic<bool> failed{false};
      std::vector<std::jthread> makers;  // joined however this scope ends
      for (long i = 0; i < std::min<long>(need, kStartsAtOnce); ++i)
        makers.emplace_back([&, w = &want] {
          try {
            make_one(*w->target, w->hash, *w->image);
          } catch (const std::exception& e) {
            if (!dynamic_cast<const EngineError*>(&e)) spdlog::warn("warm: {}", e.what());
            failed = true;  // said; the next round tries again
          }
        });
      makers.clear();  // joins them
      if (failed) break;
    }
  }
}

std::map<std::string, int> WarmPool::idle() {
  std::lock_guard lock(mu_);
  std::map<std::string, int> out;
  for (const auto& w : idle_) ++out[w.app];
  return out;
}

}  // namespace jobq
