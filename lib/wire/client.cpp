#include "wire/client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "base/paths.hpp"

namespace jobq {

namespace {
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};
}  // namespace

int Client::try_connect(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) throw ClientError("socket path is too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  try {
    check_socket_owner(path);
  } catch (const std::runtime_error& e) {
    throw ClientError(e.what());
  }
  Fd s{::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)};
  if (s.fd < 0) throw ClientError(std::string("socket: ") + std::strerror(errno));
  if (::connect(s.fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
    const int fd = s.fd;
    s.fd = -1;
    return fd;
  }
  const int err = errno;
  if (err == ENOENT || err == ECONNREFUSED || err == EAGAIN) return -1;
  if (err == EACCES)
    throw ClientError("permission denied on " + path +
                      "; ask an admin to add you to the socket's group");
  throw ClientError("cannot connect to " + path + ": " + std::strerror(err));
}

int Client::connect_any() {
  const auto& paths = options_.paths;
  if (paths.empty()) throw ClientError("no socket to connect to");
  const auto began = std::chrono::steady_clock::now();
  const auto deadline = began + options_.retry_for;
  std::string where = paths.front();
  for (std::size_t i = 1; i < paths.size(); ++i)
    where += (i + 1 == paths.size() ? " or at " : ", at ") + paths[i];
  for (bool told = false;;) {
    for (const auto& path : paths)
      if (const int fd = try_connect(path); fd >= 0) return fd;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      std::string waited;
      if (options_.retry_for.count() > 0)
        waited =
            " (tried for " +
            std::to_string(std::chrono::duration_cast<std::chrono::seconds>(now - began).count()) +
            " s)";
      const std::string start =
          paths.size() == 1 ? "'jobqd' (or 'jobqd --socket " + paths.front() + "')" : "'jobqd'";
      throw ClientError("jobqd is not running at " + where + waited + "; start it with " + start +
                        ", or point --socket / JOBQ_SOCKET at the right socket");
    }
    if (!told && options_.on_retry) {
      told = true;
      const auto secs =
          std::chrono::duration_cast<std::chrono::seconds>(options_.retry_for).count();
      options_.on_retry("jobqd is not answering at " + where + "; trying again for up to " +
                        std::to_string(secs) + " s (--connect-timeout)");
    }
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(
        std::chrono::milliseconds(200), deadline - now));
  }
}

nlohmann::json Client::call(const std::string& cmd, const nlohmann::json& args,
                            std::optional<std::chrono::milliseconds> timeout) {
  return exchange(cmd, args, timeout, nullptr);
}

nlohmann::json Client::stream(const std::string& cmd, const nlohmann::json& args,
                              const std::function<void(const nlohmann::json&)>& on_partial) {
  return exchange(cmd, args, std::nullopt, &on_partial);
}

nlohmann::json Client::exchange(const std::string& cmd, const nlohmann::json& args,
                                std::optional<std::chrono::milliseconds> timeout,
                                const PartialFn* on_partial) {
  Fd s{connect_any()};
  const std::string req = encode_request(Request{cmd, args});
  std::size_t sent = 0;
  std::string send_error;
  while (sent < req.size()) {
    const ssize_t n = ::send(s.fd, req.data() + sent, req.size() - sent, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      // jobqd may have refused us and closed (too many connections): its
      // error line can still be waiting to be read, and says more than EPIPE.
      send_error = std::strerror(errno);
      timeout = std::chrono::milliseconds(1000);
      break;
    }
    sent += static_cast<std::size_t>(n);
  }
  const auto deadline = timeout ? std::chrono::steady_clock::now() + *timeout
                                : std::chrono::steady_clock::time_point::max();
  std::string in;
  std::size_t scanned = 0;  // bytes of `in` known to hold no newline
  bool any_partial = false;
  char buf[65536];
  for (;;) {
    const auto nl = in.find('\n', scanned);
    if (nl != std::string::npos) {
      ResponseFrame frame = decode_response_frame(std::string_view(in).substr(0, nl));
      if (!frame.more) return std::move(frame.result);
      if (!on_partial)
        throw ProtocolError(ErrorCode::internal,
                            "jobqd streamed its reply to '" + cmd + "', which does not stream");
      in.erase(0, nl + 1);
      scanned = 0;
      any_partial = true;
      (*on_partial)(frame.result);
      continue;
    }
    scanned = in.size();
    if (in.size() > kMaxResponseBytes) throw ClientError("jobqd sent an oversized reply");
    int wait_ms = -1;
    if (timeout) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        if (!send_error.empty()) throw ClientError("lost the connection to jobqd: " + send_error);
        throw ClientError("jobqd did not answer in time");
      }
      wait_ms = static_cast<int>(std::min<long long>(left.count(), 1'000'000));
    }
    pollfd p{s.fd, POLLIN, 0};
    const int rc = ::poll(&p, 1, wait_ms);
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) throw ClientError(std::string("poll: ") + std::strerror(errno));
    if (rc == 0) continue;
    const ssize_t n = ::read(s.fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (!send_error.empty() && n <= 0)
      throw ClientError("lost the connection to jobqd: " + send_error);
    if (n < 0)
      throw ConnectionLost(std::string("lost the connection to jobqd: ") + std::strerror(errno));
    if (n == 0)
      throw ConnectionLost(any_partial ? "jobqd closed the connection before the end of its reply"
                                       : "jobqd closed the connection without answering");
    in.append(buf, static_cast<std::size_t>(n));
  }
}

}  // namespace jobq
