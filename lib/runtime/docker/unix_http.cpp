#include "runtime/docker/unix_http.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <exception>
#include <stdexcept>

#include <unistd.h>

namespace jobq {

namespace {
struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

struct Transfer {
  CURL* handle;
  HttpResponse* response;
  const std::function<void(std::string_view)>* on_body;
  // An exception from on_body or keep_going: it must not cross libcurl's C
  // frames, so it ends the transfer and is rethrown after.
  std::exception_ptr failure;
};

size_t on_write(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * nmemb;
  long status = 0;
  curl_easy_getinfo(t->handle, CURLINFO_RESPONSE_CODE, &status);
  if (t->on_body && *t->on_body && status >= 200 && status < 300) {
    try {
      (*t->on_body)(std::string_view(data, n));
    } catch (...) {
      t->failure = std::current_exception();
      return 0;  // ends the transfer
    }
  } else {
    t->response->body.append(data, n);
  }
  return n;
}

// A transfer that keep_going may end (an endless stream): run in a multi
// handle of its own, waking every 100 ms to ask, so that jobqd stops at once
// rather than at libcurl's next progress call (about a second when idle).
CURLcode perform_while(CURL* h, const std::function<bool()>& keep_going, Transfer& transfer) {
  CURLM* m = curl_multi_init();
  if (!m) return CURLE_OUT_OF_MEMORY;
  curl_multi_add_handle(m, h);
  CURLcode rc = CURLE_OK;
  for (int running = 1;;) {
    if (curl_multi_perform(m, &running) != CURLM_OK) {
      rc = CURLE_RECV_ERROR;
      break;
    }
    if (running == 0) {
      int left = 0;
      rc = CURLE_RECV_ERROR;
      while (CURLMsg* msg = curl_multi_info_read(m, &left))
        if (msg->msg == CURLMSG_DONE) rc = msg->data.result;
      break;
    }
    bool go = false;
    try {
      go = keep_going();
    } catch (...) {
      transfer.failure = std::current_exception();
    }
    if (!go) {
      rc = CURLE_ABORTED_BY_CALLBACK;
      break;
    }
    curl_multi_poll(m, nullptr, 0, 100, nullptr);
  }
  curl_multi_remove_handle(m, h);
  curl_multi_cleanup(m);
  return rc;
}

size_t on_header(char* data, size_t size, size_t nmemb, void* user) {
  auto* t = static_cast<Transfer*>(user);
  const size_t n = size * nmemb;
  std::string_view line(data, n);
  const auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t'))
      value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n' || value.back() == ' '))
      value.remove_suffix(1);
    t->response->headers[name] = std::string(value);
  }
  return n;
}
}  // namespace

std::string EngineAddress::describe() const {
  if (base_url.empty()) return "unix://" + socket_path;
  const bool tls = base_url.rfind("https://", 0) == 0;
  return "tcp://" + base_url.substr(base_url.find("://") + 3) + (tls ? " (TLS)" : "");
}

EngineAddress parse_engine_address(const std::string& address, const std::string& tls_dir) {
  EngineAddress a;
  if (address.rfind("unix://", 0) == 0 && address.size() > 7) {
    a.socket_path = address.substr(7);
    return a;
  }
  const std::string tcp = "tcp://";
  if (address.rfind(tcp, 0) != 0 || address.size() == tcp.size() ||
      address.find_first_of("/?#@ ", tcp.size()) != std::string::npos)
    throw std::invalid_argument("engine address '" + address +
                                "' is not unix:///PATH or tcp://HOST:PORT");
  const std::string hostport = address.substr(tcp.size());
  if (tls_dir.empty()) {
    a.base_url = "http://" + hostport;
    return a;
  }
  a.base_url = "https://" + hostport;
  a.ca_file = tls_dir + "/ca.pem";
  a.cert_file = tls_dir + "/cert.pem";
  a.key_file = tls_dir + "/key.pem";
  for (const auto* f : {&a.ca_file, &a.cert_file, &a.key_file})
    if (::access(f->c_str(), R_OK) != 0)
      throw std::invalid_argument("cannot read " + *f +
                                  " (a TLS directory holds ca.pem, cert.pem and key.pem)");
  return a;
}

UnixHttpClient::UnixHttpClient(std::string socket_path)
    : UnixHttpClient(EngineAddress{std::move(socket_path), "", "", "", ""}) {}

UnixHttpClient::UnixHttpClient(EngineAddress address) : address_(std::move(address)) {
  static CurlGlobal global;
  if (address_.base_url.empty() && address_.socket_path.size() > 107)
    throw std::invalid_argument("engine socket path is longer than 107 bytes: " +
                                address_.socket_path);
}

UnixHttpClient::~UnixHttpClient() {
  for (void* h : idle_) curl_easy_cleanup(static_cast<CURL*>(h));
}

void* UnixHttpClient::acquire() {
  {
    std::lock_guard lock(mu_);
    if (!idle_.empty()) {
      void* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  CURL* h = curl_easy_init();
  if (!h) throw std::runtime_error("curl_easy_init failed");
  return h;
}

void UnixHttpClient::release(void* handle) {
  std::lock_guard lock(mu_);
  idle_.push_back(handle);
}

HttpResponse UnixHttpClient::request(const std::string& method, const std::string& path,
                                     const std::string* json_body, long timeout_ms,
                                     const std::function<void(std::string_view)>& on_body,
                                     const std::function<bool()>& keep_going,
                                     const std::vector<std::string>& extra_headers) {
  CURL* h = static_cast<CURL*>(acquire());
  curl_easy_reset(h);
  HttpResponse response;
  Transfer transfer{h, &response, &on_body, {}};
  std::string url;
  if (address_.base_url.empty()) {
    url = "http://localhost" + path;
    curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, address_.socket_path.c_str());
  } else {
    url = address_.base_url + path;
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (!address_.ca_file.empty()) {
      curl_easy_setopt(h, CURLOPT_CAINFO, address_.ca_file.c_str());
      curl_easy_setopt(h, CURLOPT_SSLCERT, address_.cert_file.c_str());
      curl_easy_setopt(h, CURLOPT_SSLKEY, address_.key_file.c_str());
    }
  }
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &transfer);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &transfer);
  curl_slist* headers = nullptr;
  if (json_body) {
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, json_body->c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(json_body->size()));
  } else if (method == "POST") {
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t{0});
  }
  for (const auto& header : extra_headers) headers = curl_slist_append(headers, header.c_str());
  if (headers) curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
  const CURLcode rc = keep_going ? perform_while(h, keep_going, transfer) : curl_easy_perform(h);
  curl_slist_free_all(headers);
  if (transfer.failure) {
    curl_easy_cleanup(h);
    std::rethrow_exception(transfer.failure);
  }
  if (rc != CURLE_OK) {
    curl_easy_cleanup(h);  // a broken connection is not put back in the pool
    throw std::runtime_error(std::string(curl_easy_strerror(rc)) + " (" + address_.describe() +
                             ")");
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &response.status);
  release(h);
  return response;
}

}  // namespace jobq
