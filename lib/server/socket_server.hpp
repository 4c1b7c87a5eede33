// The daemon's socket side: one thread runs a poll() loop over the listening
// Unix socket and every client. Reads are non-blocking and bounded (a line
// longer than the limit gets a too_large error and the connection closes);
// idle clients time out; past max_connections a client gets an error line.
// A complete request line is handed to `dispatch` together with the peer's
// credentials and a Responder; the reply may come from any thread, at once
// or later (wait), and is written by the loop. A client that goes away
// costs nothing: its pending reply is dropped.
// A reply may also be streamed: any number of partial lines, then the final
// one. The connection stays busy (no next request, no idle timeout) until the
// final line is posted. A producer of partial lines paces itself on
// Responder::backlog(): the loop never reads ahead of a slow client, so the
// bytes waiting for it are exactly what was posted and not yet written.
// Limits per user (uid): at most max_connections_per_user connections, and
// at most max_user_bytes of buffered request bytes plus reply bytes not yet
// written over all of the user's connections. A user over that budget is not
// read from and gets no new request started until its clients read (or go);
// a producer that answers later (wait) holds its reply while
// Responder::user_has_room() is false. So one user costs the daemon at most
// the budget plus one reply in flight per connection, and never delays
// another user's requests. Peers for which `privileged` is true (admins) are
// admitted past both connection limits. Each loop turn does bounded work per
// connection: at most kReadSlice read, kWriteSlice written, and no poll for
// input on a connection that cannot take more.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace jobq {

// What one user's connections may hold in the daemon's memory: request bytes
// read and reply bytes not yet written (jobqd --max-user-buffer).
inline constexpr std::size_t kDefaultUserBudget = 64u << 20;

struct PeerCred {
  pid_t pid = -1;
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
};

// Where replies from other threads wait for the loop to write them.
struct Mailbox {
  struct Posted {
    std::uint64_t conn;
    std::string line;
    bool final;  // ends the request (false: a partial line, more follow)
  };
  // Bytes of one open connection's replies not yet written to its socket.
  struct Backlog {
    std::size_t posted = 0;     // in `posted`, not yet taken by the loop
    std::size_t unwritten = 0;  // taken by the loop, not yet written
  };
  std::mutex mu;
  std::vector<Posted> posted;
  std::map<std::uint64_t, Backlog> open;  // connections still open
  int wake_fd = -1;
  void post(std::uint64_t conn, std::string line, bool final = true);
  bool is_open(std::uint64_t conn);
  std::size_t backlog(std::uint64_t conn);  // 0 once closed
  // The reply bytes posted or unwritten over all connections of `conn`'s
  // user, and whether that leaves room under the user's budget.
  bool user_has_room(std::uint64_t conn);
  std::size_t user_bytes(uid_t uid);
  // Set by the loop (under mu): who each connection is and the budget.
  std::map<std::uint64_t, uid_t> owner;
  std::map<uid_t, std::size_t> per_user;                   // posted + unwritten, per uid
  std::size_t user_budget = 0;                             // 0: none
  void add_user_bytes(std::uint64_t conn, std::size_t n);  // under mu
  void sub_user_bytes(std::uint64_t conn, std::size_t n);  // under mu
};

// Sends reply lines to one connection. Copyable, callable from any thread,
// also after the server is gone; a reply to a closed connection is dropped.
class Responder {
 public:
  Responder(std::shared_ptr<Mailbox> box, std::uint64_t conn) : box_(std::move(box)), conn_(conn) {}
  // The final reply line: the request is done, the next may be read.
  void operator()(std::string line) const { box_->post(conn_, std::move(line)); }
  // A partial reply line (encode_partial): written like any other, but the
  // request goes on being served; the final line follows with operator().
  void partial(std::string line) const { box_->post(conn_, std::move(line), false); }
  bool client_alive() const { return box_->is_open(conn_); }
  // Bytes posted to this connection and not yet written to its socket (0 once
  // it is closed). A producer of partial lines waits while this is above its
  // cap (and client_alive()), so a client that stops reading is throttled.
  std::size_t backlog() const { return box_->backlog(conn_); }
  // False while the replies not yet written to this connection's user are
  // over the user's budget: a producer of a large reply (wait) holds it.
  bool user_has_room() const { return box_->user_has_room(conn_); }

 private:
  std::shared_ptr<Mailbox> box_;
  std::uint64_t conn_;
};

class SocketServer {
 public:
  struct Options {
    std::string path;
    std::size_t max_line = 1 << 20;
    std::chrono::milliseconds idle_timeout{60'000};
    std::size_t max_connections = 1024;
    // Connections one uid may hold (0: no per-user limit).
    std::size_t max_connections_per_user = 0;
    // Buffered request bytes plus unwritten reply bytes of one uid, over all
    // its connections (0: no budget). Must be at least max_line.
    std::size_t max_user_bytes = kDefaultUserBudget;
    // Peers admitted past max_connections and max_connections_per_user
    // (admins); none when empty.
    std::function<bool(const PeerCred&)> privileged;
    // A request must be complete (its newline read) this long after its
    // first byte: a client trickling bytes cannot hold a slot forever.
    std::chrono::milliseconds request_timeout{30'000};
    std::optional<gid_t> group;  // the socket's group (mode 0660)
    // A listening Unix stream socket handed to us (systemd socket
    // activation), served instead of creating one at `path`: its path, mode
    // and group are whoever made it's business, and it is never unlinked.
    int adopt_fd = -1;
  };
  using Dispatch = std::function<void(std::string line, const PeerCred&, Responder)>;

  SocketServer(Options opts, Dispatch dispatch);
  ~SocketServer();
  SocketServer(const SocketServer&) = delete;
  SocketServer& operator=(const SocketServer&) = delete;

  // Creates the socket (mode 0660, no window of looser permissions) and
  // starts listening. Replaces a stale socket; refuses a live one.
  // With adopt_fd, checks that it is a listening Unix stream socket (throws
  // otherwise) and serves it.
  void listen();
  // The address of the listening socket `fd`: its path, "@name" for an
  // abstract one, "" for an unnamed one. Throws std::runtime_error unless
  // it is a Unix stream socket that is listening.
  static std::string listening_socket_name(int fd);
  // Serves until `stop` is true (checked whenever the loop wakes).
  void run(const std::atomic<bool>& stop);
  // Wakes the loop; async-signal-safe.
  void wake();

 private:
  struct Conn {
    int fd = -1;
    PeerCred peer;
    std::string in;
    std::size_t in_counted = 0;  // c.in.size() as counted in users_
    bool has_line = false;       // `in` holds a complete request line
    std::string out;
    std::size_t out_sent = 0;            // bytes of `out` already written
    std::size_t unwritten_reported = 0;  // Mailbox::Backlog::unwritten as last set
    bool busy = false;                   // a request is being served
    bool close_after_write = false;
    bool peer_closed = false;
    // A send failed (EPIPE, ECONNRESET): nothing can reach the peer any more,
    // so the connection is closed even mid-stream and its producer told.
    bool write_failed = false;
    bool draining = false;  // error sent, write side shut: discard input until EOF
    std::chrono::steady_clock::time_point last_activity;
    std::optional<std::chrono::steady_clock::time_point> request_began;
  };

  void accept_clients();
  void read_from(std::uint64_t id, Conn& c);
  void write_to(Conn& c);
  void next_request(std::uint64_t id, Conn& c);
  void close_conn(std::uint64_t id);
  void drain_posted();
  void report_backlog(std::uint64_t id, Conn& c);
  // Who holds what, per uid: connections and buffered request bytes (the
  // reply bytes are counted in the mailbox, which other threads read).
  struct UserUse {
    std::size_t conns = 0;
    std::size_t in_bytes = 0;
  };
  void count_input(Conn& c);  // after any change to c.in
  bool user_over_budget(uid_t uid);
  bool wants_input(const Conn& c);
  std::string refusal(const PeerCred& peer);  // "" when admitted

  Options opts_;
  Dispatch dispatch_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  ino_t socket_inode_ = 0;
  bool adopted_ = false;  // listen_fd_ was handed to us: close it, never unlink it
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, Conn> conns_;
  std::map<uid_t, UserUse> users_;
  std::shared_ptr<Mailbox> mailbox_;
  std::chrono::steady_clock::time_point accept_paused_until_{};
};

}  // namespace jobq
