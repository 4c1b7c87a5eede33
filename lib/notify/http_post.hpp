// One-shot HTTP(S) POST of a JSON body, for webhook notifications (libcurl).
// Contract:
// - http_post_json never throws for network or HTTP failures: a response of
//   any status comes back with `status` set; a transfer that did not complete
//   (bad URL, refused, timed out, TLS failure, ...) comes back with status 0
//   and `error` set to libcurl's text.
// - Redirects are not followed (a 3xx is returned as is); only http and https
//   are spoken; no signals are used (safe in a multi-threaded daemon). The
//   connect phase is limited to min(timeout, 5 s), the whole call to `timeout`
//   (which must be positive).
// - Safe to call from several threads at once: each call uses its own handle
//   and its own connection (nothing is kept alive between calls).
// - Only the first 512 bytes of the response body are read; the rest is not
//   waited for.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace jobq {

inline constexpr std::size_t kHttpPostBodyHeadMax = 512;
inline constexpr std::size_t kWebhookUrlMax = 2048;

struct HttpPostResult {
  long status = 0;        // HTTP status code, 0 when the transfer failed
  std::string error;      // libcurl's error text when status == 0
  std::string body_head;  // first <= kHttpPostBodyHeadMax bytes of the response body
};

// POSTs `body` with Content-Type: application/json (unless `headers` sets its
// own) and User-Agent: jobq/<version>. `headers` are extra "Name: value"
// lines; one containing CR or LF is refused (status 0, nothing sent).
HttpPostResult http_post_json(const std::string& url, const std::string& body,
                              const std::vector<std::string>& headers,
                              std::chrono::milliseconds timeout);

// True for a syntactically acceptable webhook URL: "http://" or "https://"
// (any case), a non-empty host, no whitespace or control characters, at most
// kWebhookUrlMax bytes. Does not resolve or contact the host.
bool valid_webhook_url(std::string_view url);

}  // namespace jobq
