// Test helper: a loopback HTTP/1.1 server that records the requests it gets.
//   webhook_receiver --port-file FILE --out FILE [--fail-first N] [--max-seconds S]
// Listens on 127.0.0.1, port chosen by the kernel, and writes that port and a
// newline to the port file (atomically: FILE.tmp, then rename). Serves one
// connection at a time, one request per connection; for each request it
// appends one JSON line to the out file:
//   {"n":1,"method":"POST","path":"/x","headers":{"content-type":"..."},"body":"..."}
// (header names lower-cased, repeated headers joined with ", "; bytes that are
// not valid UTF-8 are written as \u00XX). Answers the first N requests 500,
// the others 200, always with Content-Length: 0 and Connection: close.
// Bodies: Content-Length or Transfer-Encoding: chunked. Limits: head 64 KiB,
// body 8 MiB, 5 s to read a request; a request over a limit or malformed is
// answered 400/413/431 and not recorded. Exits 0 on SIGTERM/SIGINT and after
// --max-seconds (default 120).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kHeadMax = 64 * 1024;
constexpr std::size_t kBodyMax = 8 * 1024 * 1024;
constexpr auto kReadTimeout = std::chrono::seconds(5);

volatile std::sig_atomic_t g_stop = 0;

void on_signal(int) {
  g_stop = 1;
}

// ---- small helpers --------------------------------------------------------

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

template <typename T>
std::optional<T> parse_number(std::string_view s, int base = 10) {
  T value{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value, base);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return value;
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not one.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char b = byte(i);
  std::size_t len = 0;
  unsigned int cp = 0;
  if (b >= 0xc2 && b <= 0xdf) {
    len = 2;
    cp = b & 0x1fu;
  } else if (b >= 0xe0 && b <= 0xef) {
    len = 3;
    cp = b & 0x0fu;
  } else if (b >= 0xf0 && b <= 0xf4) {
    len = 4;
    cp = b & 0x07u;
  } else {
    return 0;
  }
  if (i + len > s.size()) return 0;
  for (std::size_t k = 1; k < len; ++k) {
    if ((byte(i + k) & 0xc0u) != 0x80u) return 0;
    cp = (cp << 6) | (byte(i + k) & 0x3fu);
  }
  if ((len == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
      (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
    return 0;
  return len;
}

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (std::size_t i = 0; i < s.size();) {
    const char c = s[i];
    const auto b = static_cast<unsigned char>(c);
    if (b >= 0x80) {
      if (const std::size_t n = utf8_sequence(s, i); n > 0) {
        out.append(s.substr(i, n));
        i += n;
        continue;
      }
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (b < 0x20 || b >= 0x7f) {
          out += "\\u00";
          out += kHex[b >> 4];
          out += kHex[b & 0x0f];
        } else {
          out += c;
        }
    }
    ++i;
  }
  out += '"';
}

// ---- one connection -------------------------------------------------------

struct Request {
  std::string method;
  std::string path;
  std::map<std::string, std::string> headers;  // lower-cased names
  std::string body;
};

// Why a request could not be read: 0 means the peer went away or time ran out
// (no answer is possible), otherwise the status to answer with.
struct Refusal {
  int status;
};

class Connection {
 public:
  Connection(int fd, Clock::time_point deadline) : fd_(fd), deadline_(deadline) {}

  // Reads more bytes into buf_. False on EOF, error, timeout or stop.
  bool fill() {
    char chunk[16 * 1024];
    while (!g_stop) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      const int ready = poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 250)));
      if (ready < 0 && errno != EINTR) return false;
      if (ready <= 0) continue;
      const ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) return false;
      buf_.append(chunk, static_cast<std::size_t>(n));
      return true;
    }
    return false;
  }

  // A line ending in LF (CR before it dropped), at most `max` bytes long.
  std::optional<std::string> line(std::size_t max, Refusal& why) {
    for (;;) {
      const auto lf = buf_.find('\n', pos_);
      if (lf != std::string::npos) {
        if (lf - pos_ > max) break;
        std::string out = buf_.substr(pos_, lf - pos_);
        pos_ = lf + 1;
        if (!out.empty() && out.back() == '\r') out.pop_back();
        return out;
      }
      if (buf_.size() - pos_ > max) break;
      if (!fill()) {
        why.status = 0;
        return std::nullopt;
      }
    }
    why.status = 400;
    return std::nullopt;
  }

  bool take(std::size_t n, std::string& out) {
    while (buf_.size() - pos_ < n)
      if (!fill()) return false;
    out.append(buf_, pos_, n);
    pos_ += n;
    if (pos_ > 64 * 1024) {  // keep the buffer from holding a whole body twice
      buf_.erase(0, pos_);
      pos_ = 0;
    }
    return true;
  }

  void send_all(std::string_view data) {
    while (!data.empty()) {
      const ssize_t n = send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
  }

  // Closes politely: stop sending, then read what the peer still sends (for
  // a short while) so that unread bytes do not turn the close into a reset.
  void finish() {
    shutdown(fd_, SHUT_WR);
    deadline_ = std::min(deadline_, Clock::now() + std::chrono::milliseconds(500));
    std::size_t drained = 0;
    buf_.clear();
    pos_ = 0;
    while (drained < kBodyMax && fill()) {
      drained += buf_.size();
      buf_.clear();
    }
  }

 private:
  int fd_;
  Clock::time_point deadline_;
  std::string buf_;
  std::size_t pos_ = 0;
};

bool read_head(Connection& c, Request& r, Refusal& why) {
  std::size_t used = 0;
  std::optional<std::string> first;
  // Tolerate empty lines before the request line (RFC 9112 2.2).
  do {
    first = c.line(kHeadMax - used, why);
    if (!first) return false;
    used += first->size() + 2;
  } while (first->empty() && used < kHeadMax);
  const auto sp1 = first->find(' ');
  const auto sp2 = first->rfind(' ');
  if (sp1 == std::string::npos || sp2 == sp1 || first->compare(sp2 + 1, 5, "HTTP/") != 0) {
    why.status = 400;
    return false;
  }
  r.method = first->substr(0, sp1);
  r.path = first->substr(sp1 + 1, sp2 - sp1 - 1);
  for (;;) {
    if (used >= kHeadMax) {
      why.status = 431;
      return false;
    }
    const auto header = c.line(kHeadMax - used, why);
    if (!header) {
      if (why.status == 400) why.status = 431;
      return false;
    }
    used += header->size() + 2;
    if (header->empty()) return true;
    const auto colon = header->find(':');
    if (colon == std::string::npos || colon == 0) {
      why.status = 400;
      return false;
    }
    const std::string name = lower(trim(std::string_view(*header).substr(0, colon)));
    const std::string_view value = trim(std::string_view(*header).substr(colon + 1));
    auto [it, fresh] = r.headers.try_emplace(name, value);
    if (!fresh) it->second.append(", ").append(value);
  }
}

bool read_chunked(Connection& c, Request& r, Refusal& why) {
  for (;;) {
    const auto size_line = c.line(1024, why);
    if (!size_line) return false;
    std::string_view digits(*size_line);
    digits = trim(digits.substr(0, digits.find(';')));
    const auto size = parse_number<std::size_t>(digits, 16);
    if (!size) {
      why.status = 400;
      return false;
    }
    if (*size == 0) break;
    if (*size > kBodyMax - r.body.size()) {
      why.status = 413;
      return false;
    }
    std::string crlf;
    if (!c.take(*size, r.body) || !c.take(2, crlf)) {
      why.status = 0;
      return false;
    }
    if (crlf != "\r\n") {
      why.status = 400;
      return false;
    }
  }
  // Trailers, ignored, up to the empty line.
  std::size_t used = 0;
  for (;;) {
    const auto trailer = c.line(kHeadMax - std::min(used, kHeadMax), why);
    if (!trailer) return false;
    if (trailer->empty()) return true;
    used += trailer->size() + 2;
  }
}

bool read_body(Connection& c, Request& r, Refusal& why) {
  if (const auto te = r.headers.find("transfer-encoding"); te != r.headers.end()) {
    const std::string codings = lower(te->second);
    const auto last = trim(std::string_view(codings).substr(codings.rfind(',') + 1));
    if (last != "chunked") {  // the length would be unknown
      why.status = 400;
      return false;
    }
    return read_chunked(c, r, why);
  }
  const auto cl = r.headers.find("content-length");
  if (cl == r.headers.end()) return true;
  const auto length = parse_number<std::size_t>(cl->second);
  if (!length) {
    why.status = 400;
    return false;
  }
  if (*length > kBodyMax) {
    why.status = 413;
    return false;
  }
  why.status = 0;
  return c.take(*length, r.body);
}

const char* reason(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 413:
      return "Content Too Large";
    case 431:
      return "Request Header Fields Too Large";
    default:
      return "Internal Server Error";
  }
}

std::string response(int status) {
  return "HTTP/1.1 " + std::to_string(status) + " " + reason(status) +
         "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
}

std::string record(long n, const Request& r) {
  std::string out = "{\"n\":" + std::to_string(n) + ",\"method\":";
  append_json_string(out, r.method);
  out += ",\"path\":";
  append_json_string(out, r.path);
  out += ",\"headers\":{";
  bool first = true;
  for (const auto& [name, value] : r.headers) {
    if (!first) out += ',';
    first = false;
    append_json_string(out, name);
    out += ':';
    append_json_string(out, value);
  }
  out += "},\"body\":";
  append_json_string(out, r.body);
  out += "}\n";
  return out;
}

// ---- main -----------------------------------------------------------------

struct Options {
  std::string port_file;
  std::string out;
  long fail_first = 0;
  long max_seconds = 120;
};

int usage() {
  std::fprintf(stderr,
               "usage: webhook_receiver --port-file FILE --out FILE [--fail-first N] "
               "[--max-seconds S]\n");
  return 64;
}

std::optional<Options> parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    std::string_view value;
    if (const auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      return std::nullopt;
    }
    if (arg == "--port-file") {
      o.port_file = value;
    } else if (arg == "--out") {
      o.out = value;
    } else if (arg == "--fail-first" || arg == "--max-seconds") {
      const auto n = parse_number<long>(value);
      if (!n || *n < 0 || *n > 1'000'000'000) return std::nullopt;
      (arg == "--fail-first" ? o.fail_first : o.max_seconds) = *n;
    } else {
      return std::nullopt;
    }
  }
  if (o.port_file.empty() || o.out.empty() || o.max_seconds == 0) return std::nullopt;
  return o;
}

bool write_port_file(const std::string& path, unsigned port) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f) return false;
  const bool written = std::fprintf(f, "%u\n", port) > 0;
  const bool closed = std::fclose(f) == 0;
  return written && closed && std::rename(tmp.c_str(), path.c_str()) == 0;
}

}  // namespace

int main(int argc, char** argv) {
  const auto options = parse_options(argc, argv);
  if (!options) return usage();
  const auto end = Clock::now() + std::chrono::seconds(options->max_seconds);

  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  const int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (listener < 0 || bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      listen(listener, 16) != 0 ||
      getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    std::perror("webhook_receiver: listen");
    return 1;
  }
  std::FILE* out = std::fopen(options->out.c_str(), "a");
  if (!out) {
    std::perror("webhook_receiver: out file");
    return 1;
  }
  if (!write_port_file(options->port_file, ntohs(addr.sin_port))) {
    std::perror("webhook_receiver: port file");
    return 1;
  }

  long served = 0;
  while (!g_stop) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
    if (left.count() <= 0) break;
    pollfd p{listener, POLLIN, 0};
    const int ready = poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 250)));
    if (ready <= 0) continue;
    const int fd = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;

    Connection c(fd, std::min(end, Clock::now() + kReadTimeout));
    Request r;
    Refusal why{0};
    bool complete = read_head(c, r, why);
    if (complete) {
      if (const auto ex = r.headers.find("expect");
          ex != r.headers.end() && lower(ex->second) == "100-continue")
        c.send_all("HTTP/1.1 100 Continue\r\n\r\n");
      complete = read_body(c, r, why);
    }
    if (complete) {
      ++served;
      const std::string line = record(served, r);
      std::fwrite(line.data(), 1, line.size(), out);
      std::fflush(out);
      c.send_all(response(served <= options->fail_first ? 500 : 200));
    } else if (why.status != 0) {
      std::fprintf(stderr, "webhook_receiver: refused a request (%d)\n", why.status);
      c.send_all(response(why.status));
    }
    c.finish();
    close(fd);
  }
  std::fclose(out);
  close(listener);
  return 0;
}
