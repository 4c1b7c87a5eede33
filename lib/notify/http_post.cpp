#include "notify/http_post.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <memory>
#include <mutex>

namespace jobq {

namespace {
// The daemon does not initialise libcurl itself (unix_http does, lazily, for
// its own client); curl_global_init is reference-counted, so doing it here
// too is harmless and makes this module usable on its own.
void ensure_curl_global() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (lower(s[i]) != lower(prefix[i])) return false;
  return true;
}

// Whitespace, C0 controls and DEL. Bytes >= 0x80 (UTF-8) are left to the parser.
bool has_space_or_control(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto b = static_cast<unsigned char>(c);
    return b <= 0x20 || b == 0x7f;
  });
}

struct BodyHead {
  std::string* out;
  bool cut = false;  // we stopped the transfer on purpose once the head was full
};

size_t on_write(char* data, size_t size, size_t nmemb, void* user) {
  auto* head = static_cast<BodyHead*>(user);
  const size_t n = size * nmemb;
  const size_t room = kHttpPostBodyHeadMax - head->out->size();
  head->out->append(data, std::min(n, room));
  if (n > room) {
    head->cut = true;
    return 0;  // anything but n aborts the transfer (CURLE_WRITE_ERROR)
  }
  return n;
}

struct EasyDeleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct SlistDeleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

HttpPostResult failure(std::string error) {
  HttpPostResult r;
  r.error = std::move(error);
  return r;
}

#if LIBCURL_VERSION_NUM >= 0x073e00  // curl_url(), 7.62.0
bool url_has_host(const std::string& url) {
  CURLU* u = curl_url();
  if (!u) return false;
  bool ok = false;
  if (curl_url_set(u, CURLUPART_URL, url.c_str(), 0) == CURLUE_OK) {
    char* scheme = nullptr;
    char* host = nullptr;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
      const std::string_view s(scheme);
      ok = (s == "http" || s == "https") && host[0] != '\0';
    }
    curl_free(scheme);
    curl_free(host);
  }
  curl_url_cleanup(u);
  return ok;
}
#else
// Older libcurl: the authority is what follows "//" up to '/', '?' or '#';
// the host is what is left of it without "user@" and ":port".
bool url_has_host(const std::string& url) {
  const auto start = url.find("//") + 2;
  const auto end = url.find_first_of("/?#", start);
  std::string_view authority =
      std::string_view(url).substr(start, end == std::string::npos ? end : end - start);
  if (const auto at = authority.rfind('@'); at != std::string_view::npos)
    authority.remove_prefix(at + 1);
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    return close != std::string_view::npos && close > 1;
  }
  const auto colon = authority.find(':');
  return !authority.substr(0, colon).empty();
}
#endif
}  // namespace

bool valid_webhook_url(std::string_view url) {
  if (url.empty() || url.size() > kWebhookUrlMax || has_space_or_control(url)) return false;
  if (!starts_with_nocase(url, "http://") && !starts_with_nocase(url, "https://")) return false;
  // An empty authority ("http:///x"): libcurl would skip the extra slash and
  // take "x" for the host.
  const auto authority = url.substr(url.find("//") + 2);
  if (authority.empty() || authority.find_first_of("/?#\\") == 0) return false;
  ensure_curl_global();
  return url_has_host(std::string(url));
}

HttpPostResult http_post_json(const std::string& url, const std::string& body,
                              const std::vector<std::string>& headers,
                              std::chrono::milliseconds timeout) {
  if (timeout.count() <= 0) return failure("timeout must be positive");
  ensure_curl_global();

  bool own_content_type = false;
  bool own_expect = false;
  std::unique_ptr<curl_slist, SlistDeleter> list;
  const auto append = [&list](const char* line) {
    curl_slist* next = curl_slist_append(list.get(), line);
    if (!next) return false;
    if (!list) list.reset(next);  // later appends return the same head
    return true;
  };
  for (const std::string& h : headers) {
    if (h.find_first_of("\r\n") != std::string::npos)
      return failure("header contains a line break: " + h.substr(0, h.find_first_of("\r\n")));
    own_content_type = own_content_type || starts_with_nocase(h, "content-type:");
    own_expect = own_expect || starts_with_nocase(h, "expect:");
  }
  // No "Expect: 100-continue" (libcurl's default for larger bodies): many
  // receivers never answer it and the POST would stall for a second.
  if ((!own_content_type && !append("Content-Type: application/json")) ||
      (!own_expect && !append("Expect:")))
    return failure("out of memory");
  for (const std::string& h : headers)
    if (!append(h.c_str())) return failure("out of memory");

  std::unique_ptr<CURL, EasyDeleter> easy(curl_easy_init());
  if (!easy) return failure("curl_easy_init failed");
  CURL* h = easy.get();

  HttpPostResult result;
  BodyHead head{&result.body_head};
  char errbuf[CURL_ERROR_SIZE] = {};
  const long total_ms = static_cast<long>(timeout.count());
  const long connect_ms = std::min(total_ms, 5000L);

  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
#if LIBCURL_VERSION_NUM >= 0x075500  // CURLOPT_PROTOCOLS_STR, 7.85.0
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(h, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, total_ms);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "jobq/" JOBQ_VERSION);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.c_str());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, list.get());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &head);

  const CURLcode rc = curl_easy_perform(h);
  if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && head.cut)) {
    result.error = errbuf[0] != '\0' ? std::string(errbuf) : std::string(curl_easy_strerror(rc));
    result.body_head.clear();
    return result;
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &result.status);
  if (result.status == 0) result.error = "no HTTP response";
  return result;
}

}  // namespace jobq
