// Registry credentials for a pull, found as Docker's own client finds them,
// in the config file of the user jobqd runs as ($DOCKER_CONFIG/config.json,
// else ~/.docker/config.json): the registry's entry in `credHelpers`, else
// `credsStore`, names an external helper (`docker-credential-NAME get`, the
// registry on its stdin, {"Username", "Secret"} on its stdout); otherwise
// the registry's `auths` entry ({"auth": base64("user:pass")}, or
// "username"/"password", or "identitytoken"), its key matched exactly or by
// host name as Docker does ("https://127.0.0.1:5000/v2/" is 127.0.0.1:5000).
// The file is read at every lookup, so credentials added later are used
// without a restart. Secrets never appear in a warning or a log line.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace jobq {

struct RegistryCredentials {
  std::string username;
  std::string password;
  std::string identity_token;  // instead of username/password (an OAuth refresh token)
  std::string server_address;
};

// The registry an image comes from, named as in Docker's config file:
// "127.0.0.1:5000", "ghcr.io", "localhost:5000", or, for Docker Hub
// (no registry in the name, or docker.io), "https://index.docker.io/v1/".
std::string registry_of(const std::string& image);

// $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json (HOME, else
// the effective user's home in the password database); "" when neither is known.
std::string docker_config_path();

struct CredentialLookup {
  std::optional<RegistryCredentials> credentials;  // nullopt: pull anonymously
  std::string source;   // where they came from ("auths in PATH", "docker-credential-X")
  std::string warning;  // why a source named in the file was not used; "" when none
};

// Looks the registry up in the config file at `config_path` (a missing file:
// no credentials, no warning). A helper that does not answer within
// helper_timeout is killed.
CredentialLookup find_credentials(
    const std::string& config_path, const std::string& registry,
    std::chrono::milliseconds helper_timeout = std::chrono::milliseconds(10'000));

// The X-Registry-Auth header's value: base64url of Docker's AuthConfig JSON.
std::string registry_auth_header(const RegistryCredentials& c);

// For a pull of `image`: the header's value from jobqd's user's config
// file, or "" (anonymous). Logs a warning found on the way.
std::string registry_auth_for(const std::string& image);

}  // namespace jobq
