// jobqd's command side in one process, for unit tests: a temporary store,
// the fake engine (`fake`), the engine the runtime uses (`engine`: the fake
// itself, or an EngineT made around it), the Docker runtime over it
// (`runtime`), every part a handler uses,
// and requests sent through dispatch_request as any uid. Replies are read
// from the mailbox the socket loop would write from.
#pragma once

#include <doctest/doctest.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "commands/dispatch.hpp"
#include "fake_engine.hpp"
#include "test_support.hpp"
#include "wire/protocol.hpp"

namespace jobq::test {

template <class EngineT = FakeEngine>
struct DaemonFixtureOf {
  TempDir dir;
  Store store{dir.file("jobq.db")};
  FakeEngine fake;
  std::conditional_t<std::is_same_v<EngineT, FakeEngine>, FakeEngine&, EngineT> engine{fake};
  DockerRuntime runtime{engine, store.instance()};
  PendingReplies waits;
  Metrics metrics;
  Runtimes runtimes{&runtime};
  // Not started: tests drive its parts.
  Executor exec{store, runtimes, ExecutorOptions{}};
  Runner& runner = exec.runner();
  Poller& poller = exec.poller();
  FairPool engine_calls{{4, 4, 1}};
  FairPool store_scans{{2, 2, 1}};
  EngineHealth& health = exec.health();
  LogFollowers followers{store, runtimes, 64, 8};
  EnqueueCommitter committer{store, [] {}};
  ImagePuller& puller = exec.puller();
  DaemonContext ctx{store,       runtimes,  exec,    runner,    waits,       engine_calls,
                    store_scans, followers, metrics, committer, DaemonInfo{}};
  std::shared_ptr<Mailbox> box = std::make_shared<Mailbox>();
  std::uint64_t next_conn = 1;

  ~DaemonFixtureOf() {
    exec.stop();
    followers.stop();
    engine_calls.stop();
    store_scans.stop();
  }

  // Sends a request as uid (its primary group the same number); returns its
  // connection, whose replies lines_of() and wait_reply() read.
  std::uint64_t send(uid_t uid, const std::string& cmd, const nlohmann::json& args = {}) {
    const auto conn = next_conn++;
    {
      std::lock_guard lock(box->mu);
      box->open[conn] = {};
    }
    PeerCred peer;
    peer.uid = uid;
    peer.gid = uid;
    const nlohmann::json request = {{"v", kProtocolVersion},
                                    {"cmd", cmd},
                                    {"args", args.is_null() ? nlohmann::json::object() : args}};
    dispatch_request(ctx, request.dump(), peer, Responder(box, conn));
    return conn;
  }
  std::vector<nlohmann::json> lines_of(std::uint64_t conn, bool final) {
    std::lock_guard lock(box->mu);
    std::vector<nlohmann::json> out;
    for (const auto& p : box->posted)
      if (p.conn == conn && p.final == final) out.push_back(nlohmann::json::parse(p.line));
    return out;
  }
  // The final reply on conn, once posted.
  nlohmann::json wait_reply(std::uint64_t conn) {
    REQUIRE(wait_until([&] { return !lines_of(conn, true).empty(); }));
    return lines_of(conn, true).front();
  }
  // Sends and waits for the final reply.
  nlohmann::json call(uid_t uid, const std::string& cmd, const nlohmann::json& args = {}) {
    return wait_reply(send(uid, cmd, args));
  }
};

using DaemonFixture = DaemonFixtureOf<>;

}  // namespace jobq::test
