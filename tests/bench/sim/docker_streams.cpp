// The Docker Engine API of engine_sim: the streams, container logs and
// events (see docker_api.hpp).
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "docker_api.hpp"
#include "sim_time.hpp"

namespace sim {

using http::Connection;
using http::param;
using http::Request;

namespace {

void frame(std::string& out, std::string_view payload) {
  const auto n = static_cast<std::uint32_t>(payload.size());
  const char header[8] = {1,
                          0,
                          0,
                          0,
                          static_cast<char>((n >> 24) & 0xff),
                          static_cast<char>((n >> 16) & 0xff),
                          static_cast<char>((n >> 8) & 0xff),
                          static_cast<char>(n & 0xff)};
  out.append(header, 8);
  out.append(payload);
}

}  // namespace

// GET /containers/{id}/logs. Frames of stdout; with follow=1 the stream stays
// open while the container runs.
bool DockerApi::handle_logs(Connection& conn, const Request& r, const std::string& key,
                            const std::string& version) {
  const bool want_stdout = flag(r, "stdout"), want_stderr = flag(r, "stderr");
  if (!want_stdout && !want_stderr)
    return conn.respond(r, error(400, "Bad parameters: you must choose at least one stream"));
  const bool follow = flag(r, "follow"), timestamps = flag(r, "timestamps");
  std::optional<std::int64_t> since, until;
  if (const auto s = param(r, "since"); !s.empty() && s != "0") {
    since = parse_unix_time(s);
    if (!since) return conn.respond(r, error(400, "invalid since: " + s));
  }
  if (const auto s = param(r, "until"); !s.empty() && s != "0") {
    until = parse_unix_time(s);
    if (!until) return conn.respond(r, error(400, "invalid until: " + s));
  }
  long tail = -1;
  if (const auto s = param(r, "tail"); !s.empty() && s != "all") {
    char* endp = nullptr;
    tail = std::strtol(s.c_str(), &endp, 10);
    if (*endp != '\0') tail = -1;
  }
  const auto render = [&](const LogLine& line) {
    std::string out;
    if (!want_stdout) return out;
    if (since && line.ns < *since) return out;
    if (until && line.ns > *until) return out;
    frame(out, timestamps ? rfc3339(line.ns, true) + " " + line.text : line.text);
    return out;
  };

  std::unique_lock lock(st_.mu);
  const auto c = lookup(st_, key);
  if (!c) {
    lock.unlock();
    return conn.respond(r, error(404, no_such(key)));
  }
  std::vector<std::string> frames;
  for (const auto& line : c->output)
    if (auto f = render(line); !f.empty()) frames.push_back(std::move(f));
  if (tail >= 0 && frames.size() > static_cast<std::size_t>(tail))
    frames.erase(frames.begin(), frames.end() - static_cast<std::ptrdiff_t>(tail));
  std::size_t sent = c->output.size();
  const std::uint64_t run = c->run;
  const std::string content_type = compare_versions(version, "1.42") >= 0
                                       ? "application/vnd.docker.multiplexed-stream"
                                       : "application/vnd.docker.raw-stream";
  std::string body;
  for (const auto& f : frames) body += f;
  if (!follow || c->status != Status::running) {
    lock.unlock();
    return conn.respond(r, {200, body, content_type});
  }
  lock.unlock();
  if (!conn.begin_stream(r, content_type) || !conn.chunk(body)) return false;
  for (;;) {
    lock.lock();
    st_.changed.wait_for(lock, std::chrono::seconds(1), [&] {
      return c->removed || c->run != run || c->status != Status::running || c->output.size() > sent;
    });
    std::string more;
    for (; sent < c->output.size(); ++sent) more += render(c->output[sent]);
    const bool over =
        c->removed || c->run != run || c->status != Status::running || (until && now_ns() > *until);
    lock.unlock();
    if (!conn.chunk(more)) return false;
    if (over) break;
    if (conn.peer_gone()) return false;
  }
  return conn.end_stream();
}

// GET /events: one JSON line per matching event, until the client leaves
// (or `until` passes).
bool DockerApi::handle_events(Connection& conn, const Request& r) {
  const auto filters = parse_filters(param(r, "filters"));
  if (!filters) return conn.respond(r, error(400, "invalid filter: " + param(r, "filters")));
  std::optional<std::int64_t> until;
  if (const auto s = param(r, "until"); !s.empty()) {
    until = parse_unix_time(s);
    if (!until) return conn.respond(r, error(400, "invalid until: " + s));
  }
  auto sub = std::make_shared<Subscriber>();
  sub->filters = *filters;
  {
    std::lock_guard lock(st_.mu);
    st_.subscribers.push_back(sub);
  }
  struct Unsubscribe {
    State& st;
    std::shared_ptr<Subscriber> sub;
    ~Unsubscribe() {
      std::lock_guard lock(st.mu);
      st.subscribers.erase(std::remove(st.subscribers.begin(), st.subscribers.end(), sub),
                           st.subscribers.end());
    }
  } unsubscribe{st_, sub};
  if (!conn.begin_stream(r, "application/json")) return false;
  for (;;) {
    std::string out;
    {
      std::unique_lock lock(st_.mu);
      sub->cv.wait_for(lock, std::chrono::seconds(1), [&] { return !sub->queue.empty(); });
      for (const auto& line : sub->queue) out += line;
      sub->queue.clear();
    }
    if (!conn.chunk(out)) return false;
    if (until && now_ns() > *until) return conn.end_stream();
    if (conn.peer_gone()) return false;
  }
}

}  // namespace sim
