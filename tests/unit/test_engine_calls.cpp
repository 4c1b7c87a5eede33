// Client-asked engine work shared fairly (issue: one user's `logs` starved
// everyone's `status`): status answers without waiting on engine reads, a
// `logs` of a running job reads a bounded tail unless asked for more, one
// uid's engine reads neither push another's back nor queue without end, and
// `logs -f` slots have a per-uid share. Driven through dispatch_request with
// an engine whose log reads are huge and held until the test lets them go.
#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "base/base64.hpp"
#include "daemon_fixture.hpp"
#include "test_support.hpp"
#include "wire/protocol.hpp"

using jobq::test::FakeEngine;
using jobq::test::TempDir;
using jobq::test::wait_until;
using nlohmann::json;

namespace {

// The fake engine, except that a log read (not a follow) is held until
// release(), and honours `tail` as dockerd does (the last N lines only);
// it counts the bytes it sent.
class SlowLogsEngine final : public jobq::ContainerEngine {
 public:
  explicit SlowLogsEngine(FakeEngine& fake) : fake_(fake) {}
  std::string api_version() override { return fake_.api_version(); }
  std::string ping() override {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return !ping_held_; });
    return "1.43";
  }
  std::string server_version() override { return "99.0-fake"; }
  std::string create(const jobq::RunSpec& s) override { return fake_.create(s); }
  void start(const std::string& id) override { fake_.start(id); }
  std::optional<jobq::ContainerState> inspect(const std::string& id) override {
    return fake_.inspect(id);
  }
  void stop(const std::string& id, int grace) override { fake_.stop(id, grace); }
  void logs(const std::string& id, const jobq::LogChunkFn& sink) override { fake_.logs(id, sink); }
  void remove(const std::string& id) override { fake_.remove(id); }
  std::vector<jobq::ContainerSummary> list(const std::string& k, const std::string& v) override {
    return fake_.list(k, v);
  }
  void stream_logs(const std::string& id, const jobq::LogOptions& opts,
                   const jobq::LogChunkFn& sink, const std::function<bool()>& keep_going) override {
    if (opts.follow) return fake_.stream_logs(id, opts, sink, keep_going);
    {
      std::unique_lock lock(mu_);
      reading_.insert(id);
      ++reads_started_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return released_; });
    }
    std::string out;
    fake_.logs(id, [&](jobq::LogStream s, std::string_view b) {
      if (s == jobq::LogStream::stdout_stream) out.append(b);
    });
    if (opts.tail >= 0) {  // the last N lines
      std::size_t at = out.size();
      for (int n = 0; n <= opts.tail && at > 0; ++n) {
        const auto nl = out.rfind('\n', at - 1);
        if (nl == std::string::npos) {
          at = 0;
          break;
        }
        if (n < opts.tail)
          at = nl;
        else
          at = nl + 1;
      }
      out.erase(0, at);
    }
    for (std::size_t i = 0; i < out.size(); i += 65536) {
      const auto piece = std::string_view(out).substr(i, 65536);
      sent_ += piece.size();
      sink(jobq::LogStream::stdout_stream, piece);
    }
  }
  void release() {
    std::lock_guard lock(mu_);
    released_ = true;
    ping_held_ = false;
    cv_.notify_all();
  }
  void hold_ping() {
    std::lock_guard lock(mu_);
    ping_held_ = true;
  }
  bool is_reading(const std::string& container) {
    std::lock_guard lock(mu_);
    return reading_.count(container) != 0;
  }
  int reads_started() {
    std::lock_guard lock(mu_);
    return reads_started_;
  }
  std::size_t bytes_sent() const { return sent_; }

 private:
  FakeEngine& fake_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
  bool ping_held_ = false;
  std::set<std::string> reading_;
  int reads_started_ = 0;
  std::atomic<std::size_t> sent_{0};
};

struct Fixture : jobq::test::DaemonFixtureOf<SlowLogsEngine> {
  Fixture() {
    jobq::test::make_app(store, "web");
    health.start();
  }
  ~Fixture() { engine.release(); }
  // A running job of `uid` whose output is `lines` numbered lines.
  std::pair<std::int64_t, std::string> running_job(uid_t uid, int lines) {
    jobq::NewJob nj;
    nj.app = "web";
    nj.submitter_uid = uid;
    nj.submitter_name = "u" + std::to_string(uid);
    store.enqueue(nj);
    const auto ts = store.claim_pending(0, 1, jobq::test::naming(store));
    REQUIRE(ts.size() == 1);
    const auto st = runtime.launch(jobq::test::key_of(ts[0]), ts[0].spec);
    store.mark_running(ts[0].job_id, 1, st);
    std::string out;
    for (int i = 1; i <= lines; ++i) out += "line " + std::to_string(i) + " of the job's output\n";
    fake.set_logs(ts[0].spec.name, out, "");
    return {ts[0].job_id, ts[0].spec.name};
  }
  // The final reply on conn, if posted yet.
  std::optional<json> reply_of(std::uint64_t conn) {
    std::lock_guard lock(box->mu);
    for (const auto& p : box->posted)
      if (p.conn == conn && p.final) return json::parse(p.line);
    return std::nullopt;
  }
};

}  // namespace

TEST_CASE_FIXTURE(
    Fixture, "status answers at once while engine reads fill the pool, with the engine's age") {
  for (uid_t uid = 1001; uid <= 1008; ++uid) {
    const auto [id, name] = running_job(uid, 10);
    send(uid, "logs", {{"id", id}});
  }
  REQUIRE(wait_until([&] { return engine.reads_started() >= 2; }));
  const auto conn = send(0, "status");
  // Answered now, not after the held reads.
  REQUIRE(wait_until([&] { return reply_of(conn).has_value(); }, std::chrono::seconds(1)));
  const auto r = reply_of(conn);
  CHECK((*r)["ok"] == true);
  const json eng = (*r)["result"]["engine"];
  CHECK(eng["reachable"] == true);
  CHECK(eng["version"] == "99.0-fake");
  CHECK(eng.contains("age_ms"));
  CHECK(eng.contains("checked_at"));

  // stats and prune read the store only: they do not queue behind engine reads either.
  CHECK(wait_reply(send(1001, "stats"))["ok"] == true);
}

TEST_CASE_FIXTURE(Fixture,
                  "logs of a running job reads the last 1000 lines unless asked for more") {
  engine.release();
  const auto [id, name] = running_job(1001, 200'000);  // ~6 MB
  const json r = wait_reply(send(1001, "logs", {{"id", id}}));
  REQUIRE(r["ok"] == true);
  const json& res = r["result"];
  CHECK(res["source"] == "engine");
  CHECK(res["default_tail"] == 1000);
  CHECK(res["more"] == true);
  const auto data = jobq::base64_decode(res["data_base64"].get<std::string>()).value();
  CHECK(std::count(data.begin(), data.end(), '\n') == 1000);
  CHECK(data.rfind("line 199001 of", 0) == 0);
  CHECK(engine.bytes_sent() < 100'000);  // the engine sent the tail, not the whole log

  // --tail all: the whole output, kept to the cap like stored output.
  const json all = wait_reply(send(1001, "logs", {{"id", id}, {"tail", -1}}));
  REQUIRE(all["ok"] == true);
  CHECK_FALSE(all["result"].contains("more"));
  CHECK(all["result"]["total_bytes"].get<std::uint64_t>() > 5'000'000);

  // A short output under the default tail is whole and says nothing is missing.
  const auto [small, small_name] = running_job(1001, 10);
  const json s = wait_reply(send(1001, "logs", {{"id", small}}));
  CHECK(s["result"]["more"] == false);
}

TEST_CASE_FIXTURE(
    Fixture, "one uid's queued engine reads neither push another's back nor queue without end") {
  std::vector<std::uint64_t> mine;
  std::vector<std::string> names;
  for (int i = 0; i < 4; ++i) {
    const auto [id, name] = running_job(1001, 10);
    names.push_back(name);
    mine.push_back(send(1001, "logs", {{"id", id}}));
  }
  // Past uid 1001's share: refused at once, not queued.
  const auto [extra, extra_name] = running_job(1001, 10);
  const json refused = wait_reply(send(1001, "logs", {{"id", extra}}));
  CHECK(refused["ok"] == false);
  CHECK(refused["error"]["code"] == "unavailable");
  CHECK(refused["error"]["message"].get<std::string>().find("--engine-calls-per-user") !=
        std::string::npos);

  // Another uid's read starts while 1001's are still queued behind its first.
  const auto [theirs, their_name] = running_job(1002, 10);
  const auto their_conn = send(1002, "logs", {{"id", theirs}});
  REQUIRE(wait_until([&] { return engine.is_reading(their_name); }));
  int started = 0;
  for (const auto& n : names) started += engine.is_reading(n) ? 1 : 0;
  CHECK(started == 1);  // one at a time per uid: the others wait their turn

  engine.release();
  CHECK(wait_reply(their_conn)["ok"] == true);
  for (auto c : mine) CHECK(wait_reply(c)["ok"] == true);
  // Once answered, the share is free again.
  CHECK(wait_reply(send(1001, "logs", {{"id", extra}}))["ok"] == true);
}

TEST_CASE_FIXTURE(Fixture, "a uid's share of the follow slots; admins are held to the total only") {
  const auto [id, name] = running_job(1001, 10);
  for (int i = 0; i < 8; ++i) send(1001, "logs", {{"id", id}, {"follow", true}});
  const json refused = wait_reply(send(1001, "logs", {{"id", id}, {"follow", true}}));
  CHECK(refused["ok"] == false);
  CHECK(refused["error"]["code"] == "unavailable");
  CHECK(refused["error"]["message"].get<std::string>().find("--follows-per-user") !=
        std::string::npos);

  // Another user still follows; root (an admin) past the per-user share.
  const auto [theirs, their_name] = running_job(1002, 10);
  const auto other = send(1002, "logs", {{"id", theirs}, {"follow", true}});
  std::vector<std::uint64_t> roots;
  for (int i = 0; i < 10; ++i) roots.push_back(send(0, "logs", {{"id", id}, {"follow", true}}));
  // A refusal is posted at once; these are following (no reply until their jobs end).
  REQUIRE(wait_until([&] { return fake.stream_logs_calls() >= 8 + 1 + 10; }));
  CHECK_FALSE(reply_of(other).has_value());  // still following, not refused
  for (auto c : roots) CHECK_FALSE(reply_of(c).has_value());
}

TEST_CASE_FIXTURE(Fixture,
                  "status answers within a second when the engine hangs, with the answer's age") {
  engine.hold_ping();
  std::this_thread::sleep_for(
      std::chrono::milliseconds(1100));  // the last answer is no longer fresh
  const auto t0 = std::chrono::steady_clock::now();
  const auto conn = send(0, "status");
  REQUIRE(wait_until([&] { return reply_of(conn).has_value(); }, std::chrono::seconds(2)));
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::milliseconds(1000));
  const json eng = (*reply_of(conn))["result"]["engine"];
  CHECK(eng["reachable"] == true);  // the last answer, with its age
  CHECK(eng["age_ms"].get<std::int64_t>() >= 1000);
}
