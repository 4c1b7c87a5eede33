#include "server/socket_server.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "base/paths.hpp"
#include "wire/protocol.hpp"

namespace jobq {

void Mailbox::post(std::uint64_t conn, std::string line, bool final) {
  {
    std::lock_guard lock(mu);
    auto it = open.find(conn);
    if (it == open.end()) return;
    it->second.posted += line.size();
    add_user_bytes(conn, line.size());
    posted.push_back(Posted{conn, std::move(line), final});
  }
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd, &one, sizeof one);
}

bool Mailbox::is_open(std::uint64_t conn) {
  std::lock_guard lock(mu);
  return open.count(conn) != 0;
}

std::size_t Mailbox::backlog(std::uint64_t conn) {
  std::lock_guard lock(mu);
  auto it = open.find(conn);
  return it == open.end() ? 0 : it->second.posted + it->second.unwritten;
}

void Mailbox::add_user_bytes(std::uint64_t conn, std::size_t n) {
  auto o = owner.find(conn);
  if (o != owner.end()) per_user[o->second] += n;
}

void Mailbox::sub_user_bytes(std::uint64_t conn, std::size_t n) {
  auto o = owner.find(conn);
  if (o == owner.end()) return;
  auto u = per_user.find(o->second);
  if (u == per_user.end()) return;
  u->second -= std::min(u->second, n);
  if (u->second == 0) per_user.erase(u);
}

bool Mailbox::user_has_room(std::uint64_t conn) {
  std::lock_guard lock(mu);
  if (user_budget == 0) return true;
  auto o = owner.find(conn);
  if (o == owner.end()) return true;  // closed: whatever is posted is dropped
  auto u = per_user.find(o->second);
  return u == per_user.end() || u->second < user_budget;
}

std::size_t Mailbox::user_bytes(uid_t uid) {
  std::lock_guard lock(mu);
  auto u = per_user.find(uid);
  return u == per_user.end() ? 0 : u->second;
}

namespace {
constexpr std::chrono::seconds kDrainTime{2};
// Work for one connection in one loop turn: at most this much written, and
// this much read (a complete request or the discarded input of a refused
// client), so no client holds the loop for long whatever it streams.
constexpr std::size_t kWriteSlice = 1 << 20;
constexpr std::size_t kReadSlice = 256 << 10;
// A buffer that held a large request or reply is given back once empty.
constexpr std::size_t kKeptCapacity = 64 << 10;

void release_if_large(std::string& s) {
  if (s.empty() && s.capacity() > kKeptCapacity) std::string().swap(s);
}

std::runtime_error sys_error(const std::string& what) {
  return std::runtime_error(what + ": " + std::strerror(errno));
}

sockaddr_un address_of(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path)
    throw std::runtime_error("socket path is too long (" + std::to_string(path.size()) +
                             " bytes, at most " + std::to_string(sizeof addr.sun_path - 1) +
                             "): " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

bool someone_listens(const std::string& path) {
  const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const sockaddr_un addr = address_of(path);
  const bool live = ::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return live;
}
}  // namespace

SocketServer::SocketServer(Options opts, Dispatch dispatch)
    : opts_(std::move(opts)),
      dispatch_(std::move(dispatch)),
      mailbox_(std::make_shared<Mailbox>()) {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) throw sys_error("eventfd");
  mailbox_->wake_fd = wake_fd_;
  mailbox_->user_budget = opts_.max_user_bytes;
  if (opts_.max_user_bytes != 0 && opts_.max_user_bytes < opts_.max_line)
    throw std::runtime_error("the per-user buffer (" + std::to_string(opts_.max_user_bytes) +
                             " bytes) must hold one request of the largest size (" +
                             std::to_string(opts_.max_line) + " bytes)");
}

SocketServer::~SocketServer() {
  for (auto& [id, c] : conns_) ::close(c.fd);
  {
    std::lock_guard lock(mailbox_->mu);
    mailbox_->open.clear();
    mailbox_->owner.clear();
    mailbox_->per_user.clear();
    mailbox_->posted.clear();
    mailbox_->wake_fd = -1;  // replies after this point are dropped before writing
  }
  if (listen_fd_ >= 0) {
    ::close(listen_fd_);
    // Remove the socket only if we made it and it is still ours (not a
    // successor's). An adopted one belongs to whoever passed it (systemd).
    struct stat st {};
    if (!adopted_ && ::stat(opts_.path.c_str(), &st) == 0 && st.st_ino == socket_inode_)
      ::unlink(opts_.path.c_str());
  }
  ::close(wake_fd_);
}

void SocketServer::wake() {
  const std::uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
}

std::string SocketServer::listening_socket_name(int fd) {
  const std::string what = "the socket passed as file descriptor " + std::to_string(fd);
  struct stat st {};
  if (::fstat(fd, &st) != 0) throw sys_error(what);
  if (!S_ISSOCK(st.st_mode)) throw std::runtime_error(what + " is not a socket");
  int value = 0;
  socklen_t len = sizeof value;
  if (::getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &value, &len) != 0) throw sys_error(what);
  if (value != AF_UNIX)
    throw std::runtime_error(what + " is not a Unix socket (family " + std::to_string(value) + ")");
  len = sizeof value;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &value, &len) != 0) throw sys_error(what);
  if (value != SOCK_STREAM)
    throw std::runtime_error(what + " is not a stream socket (ListenStream= in the .socket unit)");
  len = sizeof value;
  if (::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &value, &len) != 0) throw sys_error(what);
  if (value == 0) throw std::runtime_error(what + " is not listening");
  sockaddr_un addr{};
  socklen_t addr_len = sizeof addr;
  if (::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &addr_len) != 0) throw sys_error(what);
  const std::size_t header = offsetof(sockaddr_un, sun_path);
  if (addr_len <= header) return "";  // unnamed
  std::string name(addr.sun_path, std::min<std::size_t>(addr_len - header, sizeof addr.sun_path));
  if (name[0] == '\0') {
    name[0] = '@';  // abstract
    return name;
  }
  return name.substr(0, name.find('\0'));
}

void SocketServer::listen() {
  if (opts_.adopt_fd >= 0) {
    const std::string name = listening_socket_name(opts_.adopt_fd);
    const int flags = ::fcntl(opts_.adopt_fd, F_GETFL);
    if (flags < 0 || ::fcntl(opts_.adopt_fd, F_SETFL, flags | O_NONBLOCK) != 0)
      throw sys_error("fcntl");
    if (::fcntl(opts_.adopt_fd, F_SETFD, FD_CLOEXEC) != 0) throw sys_error("fcntl");
    listen_fd_ = opts_.adopt_fd;
    adopted_ = true;
    opts_.path = name;
    return;
  }
  const sockaddr_un addr = address_of(opts_.path);
  // Others must not be able to replace the socket: its directory is ours.
  check_own_dir(parent_dir(opts_.path), "the socket's directory", true, "replace the socket");
  struct stat st {};
  if (::lstat(opts_.path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      throw std::runtime_error(opts_.path +
                               " exists and is not a socket; remove it or choose another --socket");
    if (st.st_uid != ::geteuid() && st.st_uid != 0)
      throw std::runtime_error(opts_.path + " is a socket of uid " + std::to_string(st.st_uid) +
                               ", not of jobqd's user or root: another user may be impersonating "
                               "jobqd there; remove it (as root) or choose another --socket");
    if (someone_listens(opts_.path))
      throw std::runtime_error("another jobqd is already listening on " + opts_.path);
    ::unlink(opts_.path.c_str());  // stale, from a daemon that died
  }
  listen_fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw sys_error("socket");
  const mode_t old = ::umask(0117);  // the socket is born 0660
  const int rc = ::bind(listen_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
  ::umask(old);
  if (rc != 0) throw sys_error("cannot bind " + opts_.path);
  if (opts_.group && ::chown(opts_.path.c_str(), static_cast<uid_t>(-1), *opts_.group) != 0)
    throw sys_error("chown " + opts_.path + " to its group");
  if (::chmod(opts_.path.c_str(), 0660) != 0) throw sys_error("chmod " + opts_.path);
  if (::stat(opts_.path.c_str(), &st) == 0) socket_inode_ = st.st_ino;
  if (::listen(listen_fd_, 128) != 0) throw sys_error("listen");
}

void SocketServer::accept_clients() {
  for (;;) {
    const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      if (errno == EMFILE || errno == ENFILE) {
        // The listening socket stays readable: stop polling it for a while
        // rather than spinning.
        spdlog::warn("out of file descriptors; not accepting clients for 100 ms");
        accept_paused_until_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
        return;
      }
      spdlog::warn("accept: {}", std::strerror(errno));
      return;
    }
    ucred cred{};
    socklen_t len = sizeof cred;
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0 || len != sizeof cred) {
      spdlog::warn("refusing a client whose credentials cannot be read");
      ::close(fd);  // fail closed
      continue;
    }
    const PeerCred peer{cred.pid, cred.uid, cred.gid};
    if (const std::string why = refusal(peer); !why.empty()) {
      const std::string err = encode_error(ErrorCode::unavailable, why);
      [[maybe_unused]] auto n = ::send(fd, err.data(), err.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      ::close(fd);
      continue;
    }
    const std::uint64_t id = next_id_++;
    Conn c;
    c.fd = fd;
    c.peer = peer;
    c.last_activity = std::chrono::steady_clock::now();
    conns_.emplace(id, std::move(c));
    ++users_[peer.uid].conns;
    std::lock_guard lock(mailbox_->mu);
    mailbox_->open.emplace(id, Mailbox::Backlog{});
    mailbox_->owner.emplace(id, peer.uid);
  }
}

// Why a new client is turned away (which limit), or "" to admit it. Admins
// (`privileged`) always get in: the limits are there to keep one user from
// locking others out, and an admin is who would come to set that right.
std::string SocketServer::refusal(const PeerCred& peer) {
  const bool over_total = conns_.size() >= opts_.max_connections;
  auto u = users_.find(peer.uid);
  const std::size_t mine = u == users_.end() ? 0 : u->second.conns;
  const bool over_share =
      opts_.max_connections_per_user != 0 && mine >= opts_.max_connections_per_user;
  if (!over_total && !over_share) return "";
  if (opts_.privileged && opts_.privileged(peer)) return "";
  if (over_share)
    return "uid " + std::to_string(peer.uid) + " has too many open connections to jobqd (" +
           std::to_string(mine) +
           ", the per-user limit --max-connections-per-user); close some and try again";
  return "jobqd has too many open connections (" + std::to_string(opts_.max_connections) +
         ", the limit --max-connections); try again shortly";
}

void SocketServer::count_input(Conn& c) {
  if (c.in.size() == c.in_counted) return;
  UserUse& u = users_[c.peer.uid];
  u.in_bytes = u.in_bytes + c.in.size() - c.in_counted;  // in_bytes includes in_counted
  c.in_counted = c.in.size();
}

bool SocketServer::user_over_budget(uid_t uid) {
  if (opts_.max_user_bytes == 0) return false;
  auto u = users_.find(uid);
  const std::size_t in = u == users_.end() ? 0 : u->second.in_bytes;
  return in + mailbox_->user_bytes(uid) >= opts_.max_user_bytes;
}

// Input is polled only on a connection that can take it: not while a request
// is served or waits its turn (a complete line is buffered), nor when the
// buffer is over the line limit, nor while its user is over budget. Else a
// client that pipelines and never reads would wake the loop forever.
bool SocketServer::wants_input(const Conn& c) {
  if (c.peer_closed) return false;
  if (c.draining) return true;
  if (c.busy || c.close_after_write || c.has_line || c.in.size() > opts_.max_line) return false;
  return !user_over_budget(c.peer.uid);
}

void SocketServer::close_conn(std::uint64_t id) {
  auto it = conns_.find(id);
  if (it == conns_.end()) return;
  ::close(it->second.fd);
  const uid_t uid = it->second.peer.uid;
  it->second.in.clear();
  count_input(it->second);
  conns_.erase(it);
  if (auto u = users_.find(uid); u != users_.end() && --u->second.conns == 0) users_.erase(u);
  std::lock_guard lock(mailbox_->mu);
  if (auto b = mailbox_->open.find(id); b != mailbox_->open.end())
    mailbox_->sub_user_bytes(id, b->second.posted + b->second.unwritten);
  mailbox_->open.erase(id);
  mailbox_->owner.erase(id);
}

void SocketServer::next_request(std::uint64_t id, Conn& c) {
  // One request at a time, and only once the last reply is written: a client
  // that never reads cannot make replies pile up.
  // A user over its budget gets no new request started until its clients
  // have read (or gone): the request waits, unread, in its buffer.
  if (c.busy || c.close_after_write || !c.out.empty()) return;
  if (!c.has_line) {
    if (c.in.size() > opts_.max_line) {
      c.out += encode_error(ErrorCode::too_large, "request line is longer than " +
                                                      std::to_string(opts_.max_line) + " bytes");
      c.close_after_write = true;
      c.in.clear();
      release_if_large(c.in);
      count_input(c);
    }
    return;
  }
  if (user_over_budget(c.peer.uid)) return;
  const auto nl = c.in.find('\n');
  std::string line = c.in.substr(0, nl);
  c.in.erase(0, nl + 1);
  c.has_line = c.in.find('\n') != std::string::npos;
  release_if_large(c.in);
  count_input(c);
  c.request_began.reset();
  if (!c.in.empty()) c.request_began = std::chrono::steady_clock::now();
  if (line.size() > opts_.max_line) {
    c.out += encode_error(ErrorCode::too_large, "request line is longer than " +
                                                    std::to_string(opts_.max_line) + " bytes");
    c.close_after_write = true;
    return;
  }
  c.busy = true;
  try {
    dispatch_(std::move(line), c.peer, Responder(mailbox_, id));
  } catch (const std::exception& e) {
    spdlog::error("request handler failed: {}", e.what());
    mailbox_->post(id, encode_error(ErrorCode::internal, e.what()));
  }
}

void SocketServer::read_from(std::uint64_t id, Conn& c) {
  char buf[65536];
  std::size_t budget = kReadSlice;  // the rest waits for the next turn
  if (c.draining) {
    // Discard what a refused client still sends, so that closing does not
    // reset the connection before it has read our error.
    while (budget > 0) {
      const ssize_t n = ::read(c.fd, buf, sizeof buf);
      if (n > 0) {
        budget -= std::min(budget, static_cast<std::size_t>(n));
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) c.peer_closed = true;
      return;
    }
    return;
  }
  while (budget > 0 && !c.has_line) {
    if (c.in.size() > opts_.max_line) break;  // stop reading; next_request reports it
    if (user_over_budget(c.peer.uid)) break;  // its clients must read first
    const std::size_t want = std::min({sizeof buf, budget, opts_.max_line + 1 - c.in.size()});
    const ssize_t n = ::read(c.fd, buf, want);
    if (n > 0) {
      const auto got = static_cast<std::size_t>(n);
      budget -= got;
      c.last_activity = std::chrono::steady_clock::now();
      if (c.in.empty() && !c.request_began) c.request_began = c.last_activity;
      c.in.append(buf, got);
      c.has_line = std::memchr(buf, '\n', got) != nullptr;
      count_input(c);
      continue;
    }
    if (n == 0) {
      c.peer_closed = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) c.peer_closed = true;
    break;
  }
  next_request(id, c);
}

void SocketServer::write_to(Conn& c) {
  // At most kWriteSlice per pass, so one large reply does not hold up others.
  std::size_t budget = kWriteSlice;
  while (c.out_sent < c.out.size() && budget > 0) {
    const std::size_t len = std::min(c.out.size() - c.out_sent, budget);
    const ssize_t n = ::send(c.fd, c.out.data() + c.out_sent, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      c.out_sent += static_cast<std::size_t>(n);
      budget -= static_cast<std::size_t>(n);
      c.last_activity = std::chrono::steady_clock::now();
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    c.peer_closed = true;
    c.write_failed = true;
    c.out.clear();
    c.out_sent = 0;
    return;
  }
  if (c.out_sent == c.out.size()) {
    c.out.clear();
    c.out_sent = 0;
    release_if_large(c.out);
  }
}

void SocketServer::drain_posted() {
  std::uint64_t counter;
  while (::read(wake_fd_, &counter, sizeof counter) > 0) {
  }
  std::vector<Mailbox::Posted> posted;
  {
    std::lock_guard lock(mailbox_->mu);
    posted.swap(mailbox_->posted);
    // Taken, not yet written: the bytes stay in the connection's backlog.
    for (const auto& p : posted) {
      auto it = mailbox_->open.find(p.conn);
      if (it == mailbox_->open.end()) continue;
      it->second.posted -= p.line.size();
      it->second.unwritten += p.line.size();
    }
  }
  for (auto& p : posted) {
    auto it = conns_.find(p.conn);
    if (it == conns_.end()) continue;
    Conn& c = it->second;
    c.unwritten_reported += p.line.size();
    if (c.out.empty())
      c.out = std::move(p.line);
    else
      c.out += p.line;
    if (p.final) c.busy = false;
    c.last_activity = std::chrono::steady_clock::now();
  }
}

// Brings the mailbox's count of this connection's unwritten bytes up to date
// after writes (only the loop changes it, so a copy tells when it is stale).
void SocketServer::report_backlog(std::uint64_t id, Conn& c) {
  const std::size_t unwritten = c.out.size() - c.out_sent;
  if (unwritten == c.unwritten_reported) return;
  c.unwritten_reported = unwritten;
  std::lock_guard lock(mailbox_->mu);
  auto it = mailbox_->open.find(id);
  if (it == mailbox_->open.end()) return;
  const std::size_t before = it->second.unwritten;
  it->second.unwritten = unwritten;
  if (unwritten > before)
    mailbox_->add_user_bytes(id, unwritten - before);
  else
    mailbox_->sub_user_bytes(id, before - unwritten);
}

void SocketServer::run(const std::atomic<bool>& stop) {
  std::vector<pollfd> fds;
  std::vector<std::uint64_t> ids;
  while (!stop.load()) {
    fds.clear();
    ids.clear();
    fds.push_back({wake_fd_, POLLIN, 0});
    const bool accepting = std::chrono::steady_clock::now() >= accept_paused_until_;
    fds.push_back({accepting ? listen_fd_ : -1, POLLIN, 0});
    for (auto& [id, c] : conns_) {
      short events = 0;
      if (wants_input(c)) events |= POLLIN;
      if (!c.out.empty()) events |= POLLOUT;
      // A hung-up peer with nothing to write is left out: poll would report
      // POLLHUP on it forever.
      fds.push_back({c.peer_closed && events == 0 ? -1 : c.fd, events, 0});
      ids.push_back(id);
    }
    const int rc = ::poll(fds.data(), fds.size(), 500);
    if (rc < 0 && errno != EINTR) throw sys_error("poll");
    if (stop.load()) break;
    drain_posted();
    if (fds[1].revents & POLLIN) accept_clients();
    const auto now = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < ids.size(); ++i) {
      auto it = conns_.find(ids[i]);
      if (it == conns_.end()) continue;
      Conn& c = it->second;
      const short re = fds[i + 2].revents;
      // A peer that hung up entirely (not just shut its writing side, which
      // is POLLRDHUP) is gone: close now, even mid-request, so a Ctrl-C'd
      // `jobq wait` frees its slot and its pending reply at once.
      if (re & (POLLHUP | POLLERR)) {
        close_conn(ids[i]);
        continue;
      }
      if (re & POLLIN) read_from(ids[i], c);
      if (!c.out.empty()) write_to(c);
      if (c.out.empty()) next_request(ids[i], c);  // pipelined requests
      if (!c.out.empty()) write_to(c);
      report_backlog(ids[i], c);
      if (c.close_after_write && c.out.empty() && !c.draining && !c.peer_closed) {
        ::shutdown(c.fd, SHUT_WR);
        c.draining = true;
        c.last_activity = now;
      }
      const bool idle = !c.busy && now - c.last_activity > opts_.idle_timeout;
      if (!c.busy && !c.close_after_write && !c.has_line && c.request_began &&
          now - *c.request_began > opts_.request_timeout) {
        c.out += encode_error(ErrorCode::bad_request,
                              "request not completed within " +
                                  std::to_string(opts_.request_timeout.count()) + " ms; closing");
        c.close_after_write = true;
        c.in.clear();
        count_input(c);
        write_to(c);
      }
      const bool drained = c.draining && (c.peer_closed || now - c.last_activity > kDrainTime);
      // A peer that closed only its writing side still gets its reply.
      const bool done =
          c.out.empty() && !c.draining && (c.close_after_write || (c.peer_closed && !c.busy));
      if (done || drained || idle || c.write_failed) close_conn(ids[i]);
    }
  }
}

}  // namespace jobq
