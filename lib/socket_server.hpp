// The daemon's socket side: one thread runs a poll() loop over the listening
// Unix socket and every client. Reads are non-blocking and bounded (a line
// longer than the limit gets a too_large error and the connection closes);
// idle clients time out; past max_connections a client gets an error line.
// A complete request line is handed to `dispatch` together with the peer's
// credentials and a Responder; the reply may come from any thread, at once
// or later (wait), and is written by the loop. A client that goes away
// costs nothing: its pending reply is dropped.
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

struct PeerCred {
  pid_t pid = -1;
  uid_t uid = static_cast<uid_t>(-1);
  gid_t gid = static_cast<gid_t>(-1);
};

// Where replies from other threads wait for the loop to write them.
struct Mailbox {
  std::mutex mu;
  std::vector<std::pair<std::uint64_t, std::string>> posted;
  std::set<std::uint64_t> open;  // connections still open
  int wake_fd = -1;
  void post(std::uint64_t conn, std::string line);
  bool is_open(std::uint64_t conn);
};

// Sends one reply line to one connection. Copyable, callable from any thread,
// also after the server is gone; a reply to a closed connection is dropped.
class Responder {
 public:
  Responder(std::shared_ptr<Mailbox> box, std::uint64_t conn) : box_(std::move(box)), conn_(conn) {}
  void operator()(std::string line) const { box_->post(conn_, std::move(line)); }
  bool client_alive() const { return box_->is_open(conn_); }

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
    // A request must be complete (its newline read) this long after its
    // first byte: a client trickling bytes cannot hold a slot forever.
    std::chrono::milliseconds request_timeout{30'000};
    std::optional<gid_t> group;  // the socket's group (mode 0660)
  };
  using Dispatch = std::function<void(std::string line, const PeerCred&, Responder)>;

  SocketServer(Options opts, Dispatch dispatch);
  ~SocketServer();
  SocketServer(const SocketServer&) = delete;
  SocketServer& operator=(const SocketServer&) = delete;

  // Creates the socket (mode 0660, no window of looser permissions) and
  // starts listening. Replaces a stale socket; refuses a live one.
  void listen();
  // Serves until `stop` is true (checked whenever the loop wakes).
  void run(const std::atomic<bool>& stop);
  // Wakes the loop; async-signal-safe.
  void wake();

 private:
  struct Conn {
    int fd = -1;
    PeerCred peer;
    std::string in;
    std::string out;
    std::size_t out_sent = 0;   // bytes of `out` already written
    bool busy = false;          // a request is being served
    bool close_after_write = false;
    bool peer_closed = false;
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

  Options opts_;
  Dispatch dispatch_;
  int listen_fd_ = -1;
  int wake_fd_ = -1;
  ino_t socket_inode_ = 0;
  std::uint64_t next_id_ = 1;
  std::map<std::uint64_t, Conn> conns_;
  std::shared_ptr<Mailbox> mailbox_;
  std::chrono::steady_clock::time_point accept_paused_until_{};
};

}  // namespace jobq
