// The benchmarks' HTTP/1.1 server on a Unix socket (see http_server.hpp).
#include "http_server.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <system_error>
#include <thread>

namespace sim::http {

namespace {

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

}  // namespace

std::string param(const Request& r, const std::string& key) {
  const auto it = r.query.find(key);
  return it == r.query.end() ? "" : it->second;
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

Connection::~Connection() {
  ::close(fd_);
}

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

  return true;
}

std::string Connection::headers(const Request& r, int status, const std::string& content_type) {
  std::string h = "HTTP/1.1 " + std::to_string(status) + " " + reason(status) + "\r\n";
  h += extra_headers_;
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

void serve(int fd, const Service& service) {
  Connection conn(fd, service.extra_headers);
  Request r;
  while (conn.read_request(r)) {
    if (!service.handler(conn, r) || !r.keep_alive) break;
  }
}

[[noreturn]] void accept_loop(int listener, std::shared_ptr<const Service> service) {
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
      std::thread([fd, service] { serve(fd, *service); }).detach();
    } catch (const std::system_error& e) {
      std::fprintf(stderr, "%s: cannot start a connection thread: %s\n", service->name.c_str(),
                   e.what());
      ::close(fd);
    }
  }
}

int listen_unix(const std::string& path, const std::string& name) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    std::fprintf(stderr, "%s: socket path too long: %s\n", name.c_str(), path.c_str());
    std::exit(1);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    std::perror((name + ": socket").c_str());
    std::exit(1);
  }
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    // A stale socket (nobody answers) is replaced; anything else is left alone.
    if (!S_ISSOCK(st.st_mode)) {
      std::fprintf(stderr, "%s: %s exists and is not a socket\n", name.c_str(), path.c_str());
      std::exit(1);
    }
    const int probe = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const bool live =
        probe >= 0 && ::connect(probe, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
    if (probe >= 0) ::close(probe);
    if (live) {
      std::fprintf(stderr, "%s: %s is in use\n", name.c_str(), path.c_str());
      std::exit(1);
    }
    ::unlink(path.c_str());
  }
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(fd, 1024) != 0) {
    std::fprintf(stderr, "%s: cannot listen on %s: %s\n", name.c_str(), path.c_str(),
                 std::strerror(errno));
    std::exit(1);
  }
  return fd;
}

}  // namespace sim::http
