// engine_sim: a small stand-in for the Docker Engine API on a Unix socket, for
// benchmarks. It answers the calls jobqd makes (ping, version, create, start,
// inspect, stop, kill, logs, remove, list, events), under /vX.Y/ prefixes or
// none, and keeps its containers in memory: a started container "runs" for
// --run-ms (or until stopped), then exits with --exit-code. Nothing is
// executed, so thousands of running containers cost next to nothing.
//
// HTTP/1.1 over plain POSIX sockets, a thread per connection, keep-alive.
// Container exits come from one timer thread (a priority queue of exit
// times); all state sits behind one mutex. It prints nothing but errors and
// exits by itself after --max-seconds (or on SIGTERM/SIGINT/SIGHUP), removing
// its socket.
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <unordered_map>
#include <vector>

#include <nlohmann/json.hpp>

namespace {

using json = nlohmann::json;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kEngineVersion = "24.0.0-sim";
constexpr std::size_t kMaxHeaderBytes = 64 * 1024;
constexpr std::size_t kMaxBodyBytes = 16 * 1024 * 1024;

struct Options {
  std::string socket;
  std::string api = "1.41";
  long latency_ms = 0;
  long run_ms = 1000;  // -1: until stopped
  int exit_code = 0;
  long max_seconds = 600;
};
Options g_opts;

// ---------------------------------------------------------------- time

std::int64_t now_ns() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// RFC 3339 in UTC. `fixed`: always nine fraction digits (Docker's log
// timestamps); otherwise Go's RFC3339Nano, trailing zeros trimmed (Docker's
// StartedAt/FinishedAt). 0 is Docker's "never".
std::string rfc3339(std::int64_t ns, bool fixed) {
  if (ns == 0) return "0001-01-01T00:00:00Z";
  const auto secs = static_cast<std::time_t>(ns / 1'000'000'000);
  const long frac = static_cast<long>(ns % 1'000'000'000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                        tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  std::string out(buf, static_cast<std::size_t>(n));
  if (fixed || frac != 0) {
    n = std::snprintf(buf, sizeof buf, ".%09ld", frac);
    std::string f(buf, static_cast<std::size_t>(n));
    if (!fixed)
      while (f.back() == '0') f.pop_back();
    out += f;
  }
  return out + "Z";
}

// Docker's since/until: Unix seconds with an optional fraction. nullopt when malformed.
std::optional<std::int64_t> parse_unix_time(const std::string& s) {
  if (s.empty()) return std::nullopt;
  std::int64_t secs = 0, frac = 0;
  std::size_t i = 0;
  for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); ++i)
    secs = secs * 10 + (s[i] - '0');
  if (i == 0 || secs > 9'000'000'000) return std::nullopt;
  if (i < s.size()) {
    if (s[i] != '.') return std::nullopt;
    int digits = 0;
    for (++i; i < s.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(s[i]))) return std::nullopt;
      if (digits < 9) {
        frac = frac * 10 + (s[i] - '0');
        ++digits;
      }
    }
    for (; digits < 9; ++digits) frac *= 10;
  }
  return secs * 1'000'000'000 + frac;
}

// ---------------------------------------------------------------- state

enum class Status { created, running, exited };

const char* status_name(Status s) {
  switch (s) {
    case Status::created:
      return "created";
    case Status::running:
      return "running";
    case Status::exited:
      return "exited";
  }
  return "dead";
}

struct LogLine {
  std::int64_t ns;
  std::string text;  // ends with '\n'
};

struct Container {
  std::string id;
  std::string name;  // without the leading '/'
  std::string image;
  json config;  // the create body without HostConfig/NetworkingConfig
  json host_config;
  std::map<std::string, std::string> labels;
  Status status = Status::created;
  int exit_code = 0;
  int pid = 0;
  std::int64_t created_ns = 0;
  std::int64_t started_ns = 0;
  std::int64_t finished_ns = 0;
  std::uint64_t run = 0;  // bumped per start: a timer entry of an earlier run is stale
  bool removed = false;
  std::vector<LogLine> output;  // stdout
};
using ContainerPtr = std::shared_ptr<Container>;

using Filters = std::map<std::string, std::vector<std::string>>;

struct Subscriber {
  Filters filters;
  std::deque<std::string> queue;  // JSON lines not yet sent
  std::condition_variable cv;
};

struct PendingExit {
  SteadyClock::time_point when;
  std::string id;
  std::uint64_t run;
  bool operator>(const PendingExit& o) const { return when > o.when; }
};

struct State {
  std::mutex mu;
  std::condition_variable changed;  // a container changed state (log followers wait on it)
  std::condition_variable timer_cv;
  std::unordered_map<std::string, ContainerPtr> by_id;
  std::unordered_map<std::string, ContainerPtr> by_name;
  std::priority_queue<PendingExit, std::vector<PendingExit>, std::greater<>> exits;
  std::vector<std::shared_ptr<Subscriber>> subscribers;
  std::mt19937_64 rng{std::random_device{}()};
  int next_pid = 1000;
};
State g;

bool label_matches(const std::map<std::string, std::string>& labels, const std::string& spec) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos) return labels.count(spec) > 0;
  const auto it = labels.find(spec.substr(0, eq));
  return it != labels.end() && it->second == spec.substr(eq + 1);
}

// Docker's filter semantics: values of one key are alternatives (any), except
// labels, which must all match.
bool any_of_values(const Filters& f, const std::string& key,
                   const std::function<bool(const std::string&)>& pred) {
  const auto it = f.find(key);
  if (it == f.end() || it->second.empty()) return true;
  return std::any_of(it->second.begin(), it->second.end(), pred);
}

bool labels_match(const Filters& f, const std::map<std::string, std::string>& labels) {
  const auto it = f.find("label");
  if (it == f.end()) return true;
  return std::all_of(it->second.begin(), it->second.end(),
                     [&](const std::string& s) { return label_matches(labels, s); });
}

// Accepts both {"k":["v",...]} and the old {"k":{"v":true}}.
std::optional<Filters> parse_filters(const std::string& text) {
  Filters out;
  if (text.empty()) return out;
  const auto doc = json::parse(text, nullptr, false);
  if (!doc.is_object()) return std::nullopt;
  for (const auto& [key, v] : doc.items()) {
    auto& values = out[key];
    if (v.is_array()) {
      for (const auto& s : v) {
        if (!s.is_string()) return std::nullopt;
        values.push_back(s.get<std::string>());
      }
    } else if (v.is_object()) {
      for (const auto& [s, flag] : v.items())
        if (!flag.is_boolean() || flag.get<bool>()) values.push_back(s);
    } else {
      return std::nullopt;
    }
  }
  return out;
}

// Called with g.mu held.
void publish(const Container& c, const std::string& action) {
  if (g.subscribers.empty()) return;
  std::string line;
  for (const auto& sub : g.subscribers) {
    const Filters& f = sub->filters;
    const bool match =
        any_of_values(f, "type", [](const std::string& t) { return t == "container"; }) &&
        any_of_values(f, "event", [&](const std::string& e) { return e == action; }) &&
        any_of_values(f, "container",
                      [&](const std::string& s) { return s == c.name || c.id.rfind(s, 0) == 0; }) &&
        labels_match(f, c.labels);
    if (!match) continue;
    if (line.empty()) {
      const std::int64_t t = now_ns();
      json attrs(json::value_t::object);
      for (const auto& [k, v] : c.labels) attrs[k] = v;
      attrs["image"] = c.image;
      attrs["name"] = c.name;
      if (action == "die") attrs["exitCode"] = std::to_string(c.exit_code);
      const json ev{{"status", action}, {"id", c.id},
                    {"from", c.image},  {"Type", "container"},
                    {"Action", action}, {"Actor", {{"ID", c.id}, {"Attributes", attrs}}},
                    {"scope", "local"}, {"time", t / 1'000'000'000},
                    {"timeNano", t}};
      line = ev.dump() + "\n";
    }
    sub->queue.push_back(line);
    sub->cv.notify_all();
  }
}

// Called with g.mu held: the container's process ends with `code`.
void finish(Container& c, int code) {
  c.status = Status::exited;
  c.exit_code = code;
  c.pid = 0;
  c.finished_ns = now_ns();
  c.output.push_back(
      {c.finished_ns, "engine_sim: " + c.name + " exits with code " + std::to_string(code) + "\n"});
  publish(c, "die");
  g.changed.notify_all();
}

// Called with g.mu held.
void begin_run(Container& c) {
  c.status = Status::running;
  c.exit_code = 0;
  c.pid = ++g.next_pid;
  c.started_ns = now_ns();
  c.finished_ns = 0;
  ++c.run;
  c.output.push_back({c.started_ns, "engine_sim: " + c.name + " started\n"});
  if (g_opts.run_ms >= 0) {
    const auto when = SteadyClock::now() + std::chrono::milliseconds(g_opts.run_ms);
    const bool sooner = g.exits.empty() || when < g.exits.top().when;
    g.exits.push({when, c.id, c.run});
    if (sooner) g.timer_cv.notify_one();
  }
  publish(c, "start");
  g.changed.notify_all();
}

[[noreturn]] void timer_loop() {
  std::unique_lock lock(g.mu);
  for (;;) {
    if (g.exits.empty()) {
      g.timer_cv.wait(lock);
      continue;
    }
    const auto when = g.exits.top().when;
    if (SteadyClock::now() < when) {
      g.timer_cv.wait_until(lock, when);
      continue;
    }
    const PendingExit e = g.exits.top();
    g.exits.pop();
    const auto it = g.by_id.find(e.id);
    if (it != g.by_id.end() && it->second->status == Status::running && it->second->run == e.run)
      finish(*it->second, g_opts.exit_code);
  }
}

bool is_hex(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) {
    return std::isxdigit(static_cast<unsigned char>(ch)) &&
           !std::isupper(static_cast<unsigned char>(ch));
  });
}

// Called with g.mu held: by full id, name, or unique id prefix.
ContainerPtr lookup(const std::string& key) {
  if (auto it = g.by_id.find(key); it != g.by_id.end()) return it->second;
  const std::string name = !key.empty() && key[0] == '/' ? key.substr(1) : key;
  if (auto it = g.by_name.find(name); it != g.by_name.end()) return it->second;
  if (!is_hex(key)) return nullptr;
  ContainerPtr found;
  for (const auto& [id, c] : g.by_id) {
    if (id.rfind(key, 0) != 0) continue;
    if (found) return nullptr;  // ambiguous
    found = c;
  }
  return found;
}

std::string new_id() {
  std::string id;
  char buf[17];
  for (int i = 0; i < 4; ++i) {
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(g.rng()));
    id += buf;
  }
  return id;
}

bool valid_name(const std::string& n) {
  if (n.size() < 2) return false;
  if (!std::isalnum(static_cast<unsigned char>(n[0]))) return false;
  return std::all_of(n.begin() + 1, n.end(), [](char ch) {
    return std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '.' || ch == '-';
  });
}

// ---------------------------------------------------------------- HTTP

struct Request {
  std::string method;
  std::string path;     // decoded, without the /vX.Y prefix
  std::string version;  // from the prefix; our own API version without one
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  bool keep_alive = true;
  bool head = false;
};

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
};

int hex_value(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

std::string url_decode(std::string_view s, bool plus_is_space) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 && hex_value(s[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
      i += 2;
    } else if (s[i] == '+' && plus_is_space) {
      out += ' ';
    } else {
      out += s[i];
    }
  }
  return out;
}

const char* reason(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 409:
      return "Conflict";
    case 413:
      return "Payload Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    default:
      return "Unknown";
  }
}

Response error(int status, const std::string& message) {
  return {status, json{{"message", message}}.dump() + "\n", "application/json"};
}

class Connection {
 public:
  explicit Connection(int fd) : fd_(fd) {}
  ~Connection() { ::close(fd_); }
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // false: the peer closed, or sent something unusable (answered, if possible).
  bool read_request(Request& r);
  bool send_all(std::string_view bytes);
  bool respond(const Request& r, const Response& resp);
  bool begin_stream(const Request& r, const std::string& content_type);
  bool chunk(std::string_view bytes);
  bool end_stream();
  // True when the peer has closed its end (polled without blocking).
  bool peer_gone();

 private:
  bool fill();  // reads more into buf_; false on EOF or error
  bool read_line(std::string& line);
  std::string headers(const Request& r, int status, const std::string& content_type);

  int fd_;
  std::string buf_;
};

bool Connection::fill() {
  char tmp[16384];
  for (;;) {
    const ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n > 0) {
      buf_.append(tmp, static_cast<std::size_t>(n));
      return true;
    }
    if (n < 0 && errno == EINTR) continue;
    return false;
  }
}

bool Connection::read_line(std::string& line) {
  std::size_t eol;
  while ((eol = buf_.find("\r\n")) == std::string::npos) {
    if (buf_.size() > kMaxHeaderBytes || !fill()) return false;
  }
  line = buf_.substr(0, eol);
  buf_.erase(0, eol + 2);
  return true;
}

bool Connection::send_all(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

bool Connection::peer_gone() {
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLERR | POLLHUP | POLLNVAL)) return true;
  char ch;
  const ssize_t n = ::recv(fd_, &ch, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

bool Connection::read_request(Request& r) {
  r = Request{};
  std::size_t end;
  while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
    if (buf_.size() > kMaxHeaderBytes) {
      send_all(
          "HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: "
          "close\r\n\r\n");
      return false;
    }
    if (!fill()) return false;
  }
  const std::string head = buf_.substr(0, end);
  buf_.erase(0, end + 4);

  std::size_t pos = head.find("\r\n");
  const std::string request_line = head.substr(0, pos);
  const auto sp1 = request_line.find(' ');
  const auto sp2 = request_line.rfind(' ');
  if (sp1 == std::string::npos || sp2 == sp1) {
    send_all("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    return false;
  }
  r.method = request_line.substr(0, sp1);
  const std::string target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  const std::string proto = request_line.substr(sp2 + 1);
  while (pos != std::string::npos) {
    const std::size_t start = pos + 2;
    pos = head.find("\r\n", start);
    const std::string line =
        head.substr(start, pos == std::string::npos ? std::string::npos : pos - start);
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    std::size_t v = colon + 1;
    while (v < line.size() && (line[v] == ' ' || line[v] == '\t')) ++v;
    std::size_t ve = line.size();
    while (ve > v && (line[ve - 1] == ' ' || line[ve - 1] == '\t')) --ve;
    r.headers[name] = line.substr(v, ve - v);
  }
  std::string connection = r.headers.count("connection") ? r.headers["connection"] : "";
  std::transform(connection.begin(), connection.end(), connection.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  r.keep_alive = proto == "HTTP/1.0" ? connection == "keep-alive" : connection != "close";
  r.head = r.method == "HEAD";

  // Target: path (percent-decoded) and query.
  const auto q = target.find('?');
  r.path = url_decode(std::string_view(target).substr(0, q), false);
  if (q != std::string::npos) {
    std::string_view rest = std::string_view(target).substr(q + 1);
    while (!rest.empty()) {
      const auto amp = rest.find('&');
      const std::string_view item = rest.substr(0, amp);
      const auto eq = item.find('=');
      if (!item.empty())
        r.query[url_decode(item.substr(0, eq), true)] =
            eq == std::string_view::npos ? "" : url_decode(item.substr(eq + 1), true);
      if (amp == std::string_view::npos) break;
      rest.remove_prefix(amp + 1);
    }
  }

  // Body: Content-Length or chunked; answer Expect: 100-continue first.
  const bool chunked = r.headers.count("transfer-encoding") &&
                       r.headers["transfer-encoding"].find("chunked") != std::string::npos;
  std::size_t length = 0;
  if (!chunked && r.headers.count("content-length")) {
    const std::string& cl = r.headers["content-length"];
    char* endp = nullptr;
    const unsigned long long n = std::strtoull(cl.c_str(), &endp, 10);
    if (cl.empty() || *endp != '\0') {
      send_all("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      return false;
    }
    if (n > kMaxBodyBytes) {
      send_all("HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
      return false;
    }
    length = static_cast<std::size_t>(n);
  }
  if ((chunked || length > buf_.size()) && r.headers.count("expect") &&
      r.headers["expect"] == "100-continue") {
    if (!send_all("HTTP/1.1 100 Continue\r\n\r\n")) return false;
  }
  if (chunked) {
    for (;;) {
      std::string line;
      if (!read_line(line)) return false;
      char* endp = nullptr;
      const unsigned long long n = std::strtoull(line.c_str(), &endp, 16);
      if (endp == line.c_str() || r.body.size() + n > kMaxBodyBytes) {
        send_all("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return false;
      }
      if (n == 0) {
        do {  // trailers, up to the empty line
          if (!read_line(line)) return false;
        } while (!line.empty());
        break;
      }
      const auto size = static_cast<std::size_t>(n);
      while (buf_.size() < size + 2)
        if (!fill()) return false;
      r.body.append(buf_, 0, size);
      buf_.erase(0, size + 2);
    }
  } else {
    while (buf_.size() < length)
      if (!fill()) return false;
    r.body = buf_.substr(0, length);
    buf_.erase(0, length);
  }

  // /v1.41/containers/... -> /containers/...
  r.version = g_opts.api;
  if (r.path.size() > 2 && r.path[0] == '/' && r.path[1] == 'v' &&
      std::isdigit(static_cast<unsigned char>(r.path[2]))) {
    std::size_t i = 2;
    while (i < r.path.size() &&
           (std::isdigit(static_cast<unsigned char>(r.path[i])) || r.path[i] == '.'))
      ++i;
    if (i == r.path.size() || r.path[i] == '/') {
      r.version = r.path.substr(2, i - 2);
      r.path = i == r.path.size() ? "/" : r.path.substr(i);
    }
  }
  return true;
}

std::string Connection::headers(const Request& r, int status, const std::string& content_type) {
  std::string h = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) + "\r\n";
  h += "Api-Version: " + g_opts.api + "\r\n";
  h += "Docker-Experimental: false\r\nOstype: linux\r\n";
  h += std::string("Server: Docker/") + kEngineVersion + " (linux)\r\n";
  if (!content_type.empty()) h += "Content-Type: " + content_type + "\r\n";
  if (!r.keep_alive) h += "Connection: close\r\n";
  return h;
}

bool Connection::respond(const Request& r, const Response& resp) {
  const bool bodyless = resp.status == 204 || resp.status == 304;
  std::string out = headers(r, resp.status, bodyless ? "" : resp.content_type);
  if (!bodyless) out += "Content-Length: " + std::to_string(resp.body.size()) + "\r\n";
  out += "\r\n";
  if (!bodyless && !r.head) out += resp.body;
  return send_all(out);
}

bool Connection::begin_stream(const Request& r, const std::string& content_type) {
  return send_all(headers(r, 200, content_type) + "Transfer-Encoding: chunked\r\n\r\n");
}

bool Connection::chunk(std::string_view bytes) {
  if (bytes.empty()) return true;
  char size[32];
  const int n = std::snprintf(size, sizeof size, "%zx\r\n", bytes.size());
  std::string out(size, static_cast<std::size_t>(n));
  out.append(bytes);
  out += "\r\n";
  return send_all(out);
}

bool Connection::end_stream() {
  return send_all("0\r\n\r\n");
}

// "1.41" < "1.9" is false: versions compare as numbers, part by part.
int compare_versions(const std::string& a, const std::string& b) {
  std::size_t i = 0, j = 0;
  const auto part = [](const std::string& s, std::size_t& k) {
    long n = 0;
    for (; k < s.size() && s[k] != '.'; ++k)
      if (std::isdigit(static_cast<unsigned char>(s[k]))) n = n * 10 + (s[k] - '0');
    ++k;  // past the dot
    return n;
  };
  while (i < a.size() || j < b.size()) {
    const long x = part(a, i), y = part(b, j);
    if (x != y) return x < y ? -1 : 1;
  }
  return 0;
}

// Docker's boolValue: anything but "", "0", "no", "false", "none".
bool flag(const Request& r, const std::string& key) {
  const auto it = r.query.find(key);
  if (it == r.query.end()) return false;
  std::string v = it->second;
  std::transform(v.begin(), v.end(), v.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return !(v.empty() || v == "0" || v == "no" || v == "false" || v == "none");
}

std::string param(const Request& r, const std::string& key) {
  const auto it = r.query.find(key);
  return it == r.query.end() ? "" : it->second;
}

void simulated_latency() {
  if (g_opts.latency_ms > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(g_opts.latency_ms));
}

std::string no_such(const std::string& key) {
  return "No such container: " + key;
}

// ---------------------------------------------------------------- handlers

Response handle_version() {
  const json doc{{"Platform", {{"Name", "engine_sim"}}},
                 {"Version", kEngineVersion},
                 {"ApiVersion", g_opts.api},
                 {"MinAPIVersion", "1.12"},
                 {"GitCommit", "engine_sim"},
                 {"GoVersion", "none"},
                 {"Os", "linux"},
                 {"Arch", "amd64"},
                 {"KernelVersion", "sim"},
                 {"Components", json::array({{{"Name", "Engine"}, {"Version", kEngineVersion}}})}};
  return {200, doc.dump() + "\n", "application/json"};
}

Response handle_info() {
  std::lock_guard lock(g.mu);
  long running = 0, stopped = 0;
  for (const auto& [id, c] : g.by_id) {
    if (c->status == Status::running)
      ++running;
    else if (c->status == Status::exited)
      ++stopped;
  }
  const json doc{{"ID", "engine_sim"},
                 {"Containers", g.by_id.size()},
                 {"ContainersRunning", running},
                 {"ContainersPaused", 0},
                 {"ContainersStopped", stopped},
                 {"Images", 0},
                 {"ServerVersion", kEngineVersion},
                 {"OperatingSystem", "engine_sim"},
                 {"OSType", "linux"},
                 {"NCPU", std::thread::hardware_concurrency()}};
  return {200, doc.dump() + "\n", "application/json"};
}

Response handle_create(const Request& r) {
  simulated_latency();
  std::string name = param(r, "name");
  if (!name.empty() && name[0] == '/') name.erase(0, 1);
  if (r.query.count("name") && !valid_name(name))
    return error(
        400, "Invalid container name (" + name + "), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed");
  const auto body = json::parse(r.body, nullptr, false);
  if (!body.is_object()) return error(400, "invalid JSON body");
  const auto image = body.find("Image");
  if (image == body.end() || !image->is_string() || image->get<std::string>().empty())
    return error(400, "no image given (Config.Image)");
  std::map<std::string, std::string> labels;
  if (auto l = body.find("Labels"); l != body.end() && !l->is_null()) {
    if (!l->is_object()) return error(400, "Labels is not an object");
    for (const auto& [k, v] : l->items()) {
      if (!v.is_string()) return error(400, "label " + k + " is not a string");
      labels[k] = v.get<std::string>();
    }
  }
  auto c = std::make_shared<Container>();
  c->image = image->get<std::string>();
  c->labels = std::move(labels);
  c->config = body;
  c->config.erase("HostConfig");
  c->config.erase("NetworkingConfig");
  c->host_config = body.contains("HostConfig") && body["HostConfig"].is_object()
                       ? body["HostConfig"]
                       : json::object();
  c->created_ns = now_ns();
  std::lock_guard lock(g.mu);
  do c->id = new_id();
  while (g.by_id.count(c->id));
  if (name.empty()) name = "sim_" + c->id.substr(0, 12);
  if (auto it = g.by_name.find(name); it != g.by_name.end())
    return error(
        409,
        "Conflict. The container name \"/" + name + "\" is already in use by container \"" +
            it->second->id +
            "\". You have to remove (or rename) that container to be able to reuse that name.");
  c->name = name;
  c->config["Hostname"] = c->id.substr(0, 12);
  c->config["Labels"] = c->labels;
  g.by_id[c->id] = c;
  g.by_name[name] = c;
  publish(*c, "create");
  return {201, json{{"Id", c->id}, {"Warnings", json::array()}}.dump() + "\n", "application/json"};
}

Response handle_start(const std::string& key) {
  simulated_latency();
  std::lock_guard lock(g.mu);
  const auto c = lookup(key);
  if (!c) return error(404, no_such(key));
  if (c->status == Status::running) return {304, "", ""};
  begin_run(*c);
  return {204, "", ""};
}

json inspect_doc(const Container& c) {
  json cmd =
      c.config.contains("Cmd") && c.config["Cmd"].is_array() ? c.config["Cmd"] : json::array();
  const std::string path = !cmd.empty() && cmd[0].is_string() ? cmd[0].get<std::string>() : "";
  json args = json::array();
  for (std::size_t i = 1; i < cmd.size(); ++i) args.push_back(cmd[i]);
  return json{{"Id", c.id},
              {"Created", rfc3339(c.created_ns, false)},
              {"Path", path},
              {"Args", args},
              {"State",
               {{"Status", status_name(c.status)},
                {"Running", c.status == Status::running},
                {"Paused", false},
                {"Restarting", false},
                {"OOMKilled", false},
                {"Dead", false},
                {"Pid", c.pid},
                {"ExitCode", c.exit_code},
                {"Error", ""},
                {"StartedAt", rfc3339(c.started_ns, false)},
                {"FinishedAt", rfc3339(c.finished_ns, false)}}},
              {"Image", "sha256:" + std::string(64, '0')},
              {"Name", "/" + c.name},
              {"RestartCount", 0},
              {"Driver", "engine_sim"},
              {"Platform", "linux"},
              {"HostConfig", c.host_config},
              {"Config", c.config}};
}

Response handle_inspect(const std::string& key) {
  std::unique_lock lock(g.mu);
  const auto c = lookup(key);
  if (!c) return error(404, no_such(key));
  const json doc = inspect_doc(*c);
  lock.unlock();
  return {200, doc.dump() + "\n", "application/json"};
}

Response handle_stop(const std::string& key) {
  std::lock_guard lock(g.mu);
  const auto c = lookup(key);
  if (!c) return error(404, no_such(key));
  if (c->status != Status::running) return {304, "", ""};
  publish(*c, "kill");
  finish(*c, 143);  // ended by SIGTERM
  publish(*c, "stop");
  return {204, "", ""};
}

Response handle_kill(const std::string& key) {
  std::lock_guard lock(g.mu);
  const auto c = lookup(key);
  if (!c) return error(404, no_such(key));
  if (c->status != Status::running) return error(409, "Container " + c->id + " is not running");
  publish(*c, "kill");
  finish(*c, 137);
  return {204, "", ""};
}

Response handle_remove(const Request& r, const std::string& key) {
  std::lock_guard lock(g.mu);
  const auto c = lookup(key);
  if (!c) return error(404, no_such(key));
  if (c->status == Status::running) {
    if (!flag(r, "force"))
      return error(409, "You cannot remove a running container " + c->id +
                            ". Stop the container before attempting removal or force remove");
    publish(*c, "kill");
    finish(*c, 137);
  }
  g.by_id.erase(c->id);
  g.by_name.erase(c->name);
  c->removed = true;
  publish(*c, "destroy");
  g.changed.notify_all();
  return {204, "", ""};
}

std::string human_status(const Container& c, std::int64_t now) {
  const auto ago = [&](std::int64_t since) {
    const std::int64_t s = std::max<std::int64_t>(0, (now - since) / 1'000'000'000);
    if (s < 60) return std::to_string(s) + " seconds";
    if (s < 3600) return std::to_string(s / 60) + " minutes";
    return std::to_string(s / 3600) + " hours";
  };
  switch (c.status) {
    case Status::created:
      return "Created";
    case Status::running:
      return "Up " + ago(c.started_ns);
    case Status::exited:
      return "Exited (" + std::to_string(c.exit_code) + ") " + ago(c.finished_ns) + " ago";
  }
  return "";
}

Response handle_list(const Request& r) {
  const auto filters = parse_filters(param(r, "filters"));
  if (!filters) return error(400, "invalid filter: " + param(r, "filters"));
  const bool all = flag(r, "all");
  const std::int64_t now = now_ns();
  json out = json::array();
  std::lock_guard lock(g.mu);
  std::vector<const Container*> chosen;
  for (const auto& entry : g.by_id) {
    const Container* c = entry.second.get();
    if (!all && c->status != Status::running) continue;
    if (!labels_match(*filters, c->labels)) continue;
    if (!any_of_values(*filters, "status",
                       [&](const std::string& s) { return s == status_name(c->status); }))
      continue;
    if (!any_of_values(*filters, "name",
                       [&](const std::string& s) { return c->name.find(s) != std::string::npos; }))
      continue;
    if (!any_of_values(*filters, "id",
                       [&](const std::string& s) { return c->id.rfind(s, 0) == 0; }))
      continue;
    chosen.push_back(c);
  }
  std::sort(chosen.begin(), chosen.end(),
            [](const Container* a, const Container* b) { return a->created_ns > b->created_ns; });
  for (const Container* c : chosen) {
    std::string command;
    if (c->config.contains("Cmd") && c->config["Cmd"].is_array())
      for (const auto& part : c->config["Cmd"])
        if (part.is_string()) command += (command.empty() ? "" : " ") + part.get<std::string>();
    out.push_back({{"Id", c->id},
                   {"Names", json::array({"/" + c->name})},
                   {"Image", c->image},
                   {"ImageID", "sha256:" + std::string(64, '0')},
                   {"Command", command},
                   {"Created", c->created_ns / 1'000'000'000},
                   {"Ports", json::array()},
                   {"Labels", c->labels},
                   {"State", status_name(c->status)},
                   {"Status", human_status(*c, now)},
                   {"HostConfig", {{"NetworkMode", "default"}}},
                   {"Mounts", json::array()}});
  }
  return {200, out.dump() + "\n", "application/json"};
}

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

// GET /containers/{id}/logs. Frames of stdout; with follow=1 the stream stays
// open while the container runs.
bool handle_logs(Connection& conn, const Request& r, const std::string& key) {
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

  std::unique_lock lock(g.mu);
  const auto c = lookup(key);
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
  const std::string content_type = compare_versions(r.version, "1.42") >= 0
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
    g.changed.wait_for(lock, std::chrono::seconds(1), [&] {
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
bool handle_events(Connection& conn, const Request& r) {
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
    std::lock_guard lock(g.mu);
    g.subscribers.push_back(sub);
  }
  struct Unsubscribe {
    std::shared_ptr<Subscriber> sub;
    ~Unsubscribe() {
      std::lock_guard lock(g.mu);
      g.subscribers.erase(std::remove(g.subscribers.begin(), g.subscribers.end(), sub),
                          g.subscribers.end());
    }
  } unsubscribe{sub};
  if (!conn.begin_stream(r, "application/json")) return false;
  for (;;) {
    std::string out;
    {
      std::unique_lock lock(g.mu);
      sub->cv.wait_for(lock, std::chrono::seconds(1), [&] { return !sub->queue.empty(); });
      for (const auto& line : sub->queue) out += line;
      sub->queue.clear();
    }
    if (!conn.chunk(out)) return false;
    if (until && now_ns() > *until) return conn.end_stream();
    if (conn.peer_gone()) return false;
  }
}

// Answers one request; false: close the connection.
bool handle(Connection& conn, const Request& r) {
  if (compare_versions(r.version, g_opts.api) > 0)
    return conn.respond(
        r, error(400, "client version " + r.version +
                          " is too new. Maximum supported API version is " + g_opts.api));
  const std::string& p = r.path;
  const std::string& m = r.method;
  if (p == "/_ping" && (m == "GET" || m == "HEAD"))
    return conn.respond(r, {200, "OK", "text/plain; charset=utf-8"});
  if (p == "/version" && m == "GET") return conn.respond(r, handle_version());
  if (p == "/info" && m == "GET") return conn.respond(r, handle_info());
  if (p == "/events" && m == "GET") return handle_events(conn, r);
  if (p == "/containers/create" && m == "POST") return conn.respond(r, handle_create(r));
  if (p == "/containers/json" && m == "GET") return conn.respond(r, handle_list(r));
  // Images: the simulator has every image, so a pull only says so.
  if (p == "/images/create" && m == "POST") {
    const std::string name = param(r, "fromImage") + ":" + param(r, "tag");
    return conn.respond(
        r,
        {200,
         json{{"status", "Pulling from " + param(r, "fromImage")}, {"id", param(r, "tag")}}.dump() +
             "\r\n" + json{{"status", "Status: Image is up to date for " + name}}.dump() + "\r\n"});
  }
  if (p.rfind("/images/", 0) == 0 && p.size() > 13 && p.compare(p.size() - 5, 5, "/json") == 0 &&
      m == "GET")
    return conn.respond(r, {200, json{{"Id", "sha256:" + std::string(64, '0')},
                                      {"RepoTags", {p.substr(8, p.size() - 13)}}}
                                         .dump() +
                                     "\n"});
  const std::string prefix = "/containers/";
  if (p.rfind(prefix, 0) == 0) {
    const std::string rest = p.substr(prefix.size());
    const auto slash = rest.find('/');
    const std::string key = rest.substr(0, slash);
    const std::string action = slash == std::string::npos ? "" : rest.substr(slash + 1);
    if (!key.empty()) {
      if (action.empty() && m == "DELETE") return conn.respond(r, handle_remove(r, key));
      if (action == "json" && m == "GET") return conn.respond(r, handle_inspect(key));
      if (action == "start" && m == "POST") return conn.respond(r, handle_start(key));
      if (action == "stop" && m == "POST") return conn.respond(r, handle_stop(key));
      if (action == "kill" && m == "POST") return conn.respond(r, handle_kill(key));
      if (action == "logs" && m == "GET") return handle_logs(conn, r, key);
    }
  }
  return conn.respond(r, error(404, "page not found"));
}

void serve(int fd) {
  Connection conn(fd);
  Request r;
  while (conn.read_request(r)) {
    if (!handle(conn, r) || !r.keep_alive) break;
  }
}

[[noreturn]] void accept_loop(int listener) {
  for (;;) {
    const int fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EMFILE || errno == ENFILE || errno == ENOMEM || errno == ENOBUFS)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      continue;
    }
    const timeval send_timeout{60, 0};  // a client that stops reading is dropped
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
    try {
      std::thread(serve, fd).detach();
    } catch (const std::system_error& e) {
      std::fprintf(stderr, "engine_sim: cannot start a connection thread: %s\n", e.what());
      ::close(fd);
    }
  }
}

// ---------------------------------------------------------------- main

[[noreturn]] void usage(const char* why) {
  if (why) std::fprintf(stderr, "engine_sim: %s\n", why);
  std::fprintf(stderr,
               "usage: engine_sim --socket PATH [--api 1.41] [--latency-ms N] [--run-ms N|-1]\n"
               "                  [--exit-code N] [--max-seconds S]\n");
  std::exit(2);
}

long number(const std::string& opt, const std::string& v, long min, long max) {
  char* endp = nullptr;
  errno = 0;
  const long n = std::strtol(v.c_str(), &endp, 10);
  if (v.empty() || *endp != '\0' || errno != 0 || n < min || n > max)
    usage(
        (opt + ": not a number in [" + std::to_string(min) + ", " + std::to_string(max) + "]: " + v)
            .c_str());
  return n;
}

void parse_args(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i], value;
    if (arg == "-h" || arg == "--help") usage(nullptr);
    if (const auto eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.erase(eq);
    } else {
      if (i + 1 >= argc) usage((arg + " needs a value").c_str());
      value = argv[++i];
    }
    if (arg == "--socket")
      g_opts.socket = value;
    else if (arg == "--api")
      g_opts.api = value;
    else if (arg == "--latency-ms")
      g_opts.latency_ms = number(arg, value, 0, 3'600'000);
    else if (arg == "--run-ms")
      g_opts.run_ms = number(arg, value, -1, 365L * 86'400'000);
    else if (arg == "--exit-code")
      g_opts.exit_code = static_cast<int>(number(arg, value, 0, 255));
    else if (arg == "--max-seconds")
      g_opts.max_seconds = number(arg, value, 1, 365L * 86'400);
    else
      usage(("unknown option " + arg).c_str());
  }
  if (g_opts.socket.empty()) usage("--socket is required");
  if (g_opts.api.empty() || !std::isdigit(static_cast<unsigned char>(g_opts.api[0])))
    usage("--api: expected a version such as 1.41");
}

int listen_on(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    std::fprintf(stderr, "engine_sim: socket path too long: %s\n", path.c_str());
    std::exit(1);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::perror("engine_sim: socket");
    std::exit(1);
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    // A stale socket (nobody answers) is replaced; anything else is left alone.
    if (!S_ISSOCK(st.st_mode)) {
      std::fprintf(stderr, "engine_sim: %s exists and is not a socket\n", path.c_str());
      std::exit(1);
    }
    const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool live =
        probe >= 0 && ::connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
    if (probe >= 0) ::close(probe);
    if (live) {
      std::fprintf(stderr, "engine_sim: %s is in use\n", path.c_str());
      std::exit(1);
    }
    ::unlink(path.c_str());
  }
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, 1024) != 0) {
    std::fprintf(stderr, "engine_sim: cannot listen on %s: %s\n", path.c_str(),
                 std::strerror(errno));
    std::exit(1);
  }
  return fd;
}

}  // namespace

int main(int argc, char** argv) {
  parse_args(argc, argv);
  // Signals are taken by the main thread only (sigtimedwait below); every
  // other thread inherits this mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  const int listener = listen_on(g_opts.socket);
  std::thread(timer_loop).detach();
  std::thread(accept_loop, listener).detach();

  const auto deadline = SteadyClock::now() + std::chrono::seconds(g_opts.max_seconds);
  for (;;) {
    const auto left = deadline - SteadyClock::now();
    if (left <= SteadyClock::duration::zero()) break;
    const auto secs = std::chrono::duration_cast<std::chrono::seconds>(left);
    const timespec ts{
        static_cast<std::time_t>(secs.count()),
        static_cast<long>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(left - secs).count())};
    const int sig = sigtimedwait(&stop_signals, nullptr, &ts);
    if (sig > 0) break;
    if (sig < 0 && errno != EINTR && errno != EAGAIN) break;
  }
  ::unlink(g_opts.socket.c_str());
  // Connection threads may be mid-request: leave without running destructors.
  std::_Exit(0);
}
