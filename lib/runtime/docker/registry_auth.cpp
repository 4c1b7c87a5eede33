#include "runtime/docker/registry_auth.hpp"

#include <fcntl.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <spdlog/spdlog.h>
#include <nlohmann/json.hpp>

#include "base/base64.hpp"

extern char** environ;

namespace jobq {

using nlohmann::json;

namespace {

constexpr const char* kDockerHub = "https://index.docker.io/v1/";

// Docker's ConvertToHostname: no scheme, nothing after the first '/'.
std::string host_of(std::string s) {
  for (const char* scheme : {"http://", "https://"})
    if (s.rfind(scheme, 0) == 0) s.erase(0, std::string(scheme).size());
  if (const auto slash = s.find('/'); slash != std::string::npos) s.resize(slash);
  return s;
}

std::string str(const json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool valid_helper_name(const std::string& name) {
  return !name.empty() && name.size() <= 64 &&
         std::all_of(name.begin(), name.end(), [](unsigned char c) {
           return std::isalnum(c) || c == '-' || c == '_' || c == '.';
         });
}

struct HelperRun {
  bool ran = false;
  int status = -1;
  std::string out;
  std::string problem;
};

// Runs `docker-credential-NAME get` with `input` on its stdin; its stdout
// comes back, its stderr goes to jobqd's.
HelperRun run_helper(const std::string& program, const std::string& input,
                     std::chrono::milliseconds timeout) {
  HelperRun run;
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) {
    run.problem = "pipe failed";
    return run;
  }
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    run.problem = "pipe failed";
    return run;
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0], 0);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  std::string arg0 = program, arg1 = "get";
  char* argv[] = {arg0.data(), arg1.data(), nullptr};
  pid_t pid = -1;
  const int rc = ::posix_spawnp(&pid, program.c_str(), &fa, nullptr, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(in[0]);
  ::close(out[1]);
  if (rc != 0) {
    ::close(in[1]);
    ::close(out[0]);
    run.problem = program + " cannot be run: " + std::strerror(rc);
    return run;
  }
  run.ran = true;
  // The input is a line: far below a pipe's buffer, so this write cannot block.
  [[maybe_unused]] const auto n = ::write(in[1], input.data(), input.size());
  ::close(in[1]);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ::kill(pid, SIGKILL);
      run.problem = program + " did not answer within " + std::to_string(timeout.count()) + " ms";
      break;
    }
    pollfd p{out[0], POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char buf[4096];
    const auto got = ::read(out[0], buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    if (run.out.size() < (64u << 10)) run.out.append(buf, static_cast<std::size_t>(got));
  }
  ::close(out[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  run.status = status;
  return run;
}

CredentialLookup from_helper(const std::string& helper, const std::string& registry,
                             std::chrono::milliseconds timeout) {
  CredentialLookup out;
  const std::string program = "docker-credential-" + helper;
  if (!valid_helper_name(helper)) {
    out.warning = "credential helper name '" + helper + "' is not a plain name; not run";
    return out;
  }
  const HelperRun run = run_helper(program, registry + "\n", timeout);
  if (!run.problem.empty()) {
    out.warning = run.problem;
    return out;
  }
  if (!WIFEXITED(run.status) || WEXITSTATUS(run.status) != 0) {
    // "credentials not found in native keychain": none for this registry.
    if (run.out.find("credentials not found") == std::string::npos)
      out.warning = program + " failed for " + registry;
    return out;
  }
  const auto doc = json::parse(run.out, nullptr, false);
  if (!doc.is_object()) {
    out.warning = program + " answered something that is not a JSON object";
    return out;
  }
  RegistryCredentials c;
  c.server_address = registry;
  const std::string user = str(doc, "Username"), secret = str(doc, "Secret");
  if (user == "<token>") {
    c.identity_token = secret;  // Docker's helpers store identity tokens so
  } else {
    c.username = user;
    c.password = secret;
  }
  if (c.username.empty() && c.password.empty() && c.identity_token.empty()) return out;
  out.credentials = c;
  out.source = program;
  return out;
}

CredentialLookup from_auths(const json& auths, const std::string& registry,
                            const std::string& path) {
  CredentialLookup out;
  if (!auths.is_object()) return out;
  const json* entry = nullptr;
  if (auto it = auths.find(registry); it != auths.end()) entry = &*it;
  for (auto it = auths.begin(); !entry && it != auths.end(); ++it)
    if (host_of(it.key()) == host_of(registry)) entry = &*it;
  if (!entry || !entry->is_object()) return out;
  RegistryCredentials c;
  c.server_address = registry;
  c.username = str(*entry, "username");
  c.password = str(*entry, "password");
  c.identity_token = str(*entry, "identitytoken");
  if (const std::string auth = str(*entry, "auth"); !auth.empty()) {
    const auto decoded = base64_decode(auth);
    const auto colon = decoded ? decoded->find(':') : std::string::npos;
    if (colon == std::string::npos) {
      out.warning = "the auths entry for " + registry + " in " + path +
                    " is not base64 of user:password; not used";
      return out;
    }
    c.username = decoded->substr(0, colon);
    c.password = decoded->substr(colon + 1);
  }
  if (c.username.empty() && c.password.empty() && c.identity_token.empty()) return out;
  out.credentials = c;
  out.source = "auths in " + path;
  return out;
}

}  // namespace

std::string registry_of(const std::string& image) {
  const auto slash = image.find('/');
  if (slash == std::string::npos) return kDockerHub;
  const std::string first = image.substr(0, slash);
  const bool lower =
      std::none_of(first.begin(), first.end(), [](unsigned char c) { return std::isupper(c); });
  if (first.find_first_of(".:") == std::string::npos && first != "localhost" && lower)
    return kDockerHub;
  if (first == "docker.io" || first == "index.docker.io") return kDockerHub;
  return first;
}

std::string docker_config_path() {
  if (const char* dir = std::getenv("DOCKER_CONFIG"); dir && *dir)
    return std::string(dir) + "/config.json";
  std::string home;
  if (const char* h = std::getenv("HOME"); h && *h) {
    home = h;
  } else if (const passwd* pw = ::getpwuid(::geteuid()); pw && pw->pw_dir) {
    home = pw->pw_dir;
  }
  return home.empty() ? "" : home + "/.docker/config.json";
}

CredentialLookup find_credentials(const std::string& config_path, const std::string& registry,
                                  std::chrono::milliseconds helper_timeout) {
  CredentialLookup out;
  if (config_path.empty()) return out;
  std::ifstream f(config_path);
  if (!f) return out;
  std::stringstream text;
  text << f.rdbuf();
  const auto doc = json::parse(text.str(), nullptr, false);
  if (!doc.is_object()) {
    out.warning = config_path + " is not a JSON object; no registry credentials read from it";
    return out;
  }
  std::string helper;
  if (auto helpers = doc.find("credHelpers"); helpers != doc.end() && helpers->is_object()) {
    helper = str(*helpers, registry.c_str());
    for (auto it = helpers->begin(); helper.empty() && it != helpers->end(); ++it)
      if (host_of(it.key()) == host_of(registry) && it->is_string())
        helper = it->get<std::string>();
  }
  if (helper.empty()) helper = str(doc, "credsStore");
  if (!helper.empty()) {
    out = from_helper(helper, registry, helper_timeout);
    if (out.credentials || !out.warning.empty()) return out;
  }
  const auto auths = doc.find("auths");
  if (auths == doc.end()) return out;
  return from_auths(*auths, registry, config_path);
}

std::string registry_auth_header(const RegistryCredentials& c) {
  json body{{"serveraddress", c.server_address}};
  if (!c.identity_token.empty()) {
    body["identitytoken"] = c.identity_token;
  } else {
    body["username"] = c.username;
    body["password"] = c.password;
  }
  std::string b64 = base64_encode(body.dump());
  for (char& ch : b64) {
    if (ch == '+') ch = '-';
    if (ch == '/') ch = '_';
  }
  return b64;
}

std::string registry_auth_for(const std::string& image) {
  const std::string registry = registry_of(image);
  const std::string path = docker_config_path();
  const CredentialLookup found = find_credentials(path, registry);
  if (!found.warning.empty())
    spdlog::warn("registry credentials for {}: {}", registry, found.warning);
  if (!found.credentials) return "";
  spdlog::debug("registry credentials for {} from {}", registry, found.source);
  return registry_auth_header(*found.credentials);
}

}  // namespace jobq
