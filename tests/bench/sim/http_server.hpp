// A small HTTP/1.1 server on a Unix socket, for the simulators of the
// benchmarks. It knows nothing of what it serves: each request goes to a
// Handler, which answers whole (respond) or streams a chunked reply
// (begin_stream, chunk, end_stream). A thread per connection, keep-alive;
// request bodies by Content-Length or chunked (Expect: 100-continue is
// answered), headers up to 64 KiB and bodies up to 16 MiB; a malformed
// request is answered 400 (431, 413) and its connection closed.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace sim::http {

constexpr std::size_t kMaxHeaderBytes = 64 * 1024;
constexpr std::size_t kMaxBodyBytes = 16 * 1024 * 1024;

struct Request {
  std::string method;
  std::string path;  // percent-decoded, without the query
  std::map<std::string, std::string> query;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
  bool keep_alive = true;
  bool head = false;
};

// The query parameter `key`; "" when absent.
std::string param(const Request& r, const std::string& key);

struct Response {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";  // none sent when empty
};

// The reason phrase of the status codes the simulators use ("Unknown" otherwise).
const char* reason(int status);

class Connection {
 public:
  // `extra_headers`: "Name: value\r\n" lines sent after the status line of
  // every reply; it must outlive the connection.
  Connection(int fd, const std::string& extra_headers) : fd_(fd), extra_headers_(extra_headers) {}
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // false: the peer closed, or sent something unusable (answered, if possible).
  bool read_request(Request& r);
  bool send_all(std::string_view bytes);
  // A whole reply, with Content-Length (none, nor a body, for 204 and 304;
  // no body for HEAD).
  bool respond(const Request& r, const Response& resp);
  // A 200 reply in chunks: begin_stream, chunk... (empty ones are skipped), end_stream.
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
  const std::string& extra_headers_;
  std::string buf_;
};

// Answers one request; false: close the connection.
using Handler = std::function<bool(Connection&, const Request&)>;

struct Service {
  std::string name;           // prefixes the server's messages on stderr
  std::string extra_headers;  // see Connection
  Handler handler;
};

// A listening Unix socket at `path`. A stale socket file (nobody answers) is
// replaced; a live one, or anything else at `path`, is left alone. On failure
// prints why ("NAME: ...") and exits with 1.
int listen_unix(const std::string& path, const std::string& name);

// Serves requests on `fd` until the peer leaves, the handler says to close,
// or a request does not keep the connection alive; closes `fd`.
void serve(int fd, const Service& service);

// Accepts connections on `listener` forever, each served on a detached thread.
// A client that stops reading for 60 s is dropped.
[[noreturn]] void accept_loop(int listener, std::shared_ptr<const Service> service);

}  // namespace sim::http
