// jobqd's options: the command line over the configuration file
// (jobqd.conf), and the checks of their values.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>

namespace jobq {

struct Options {
  std::string config;  // --config; "" = kDefaultConfigFile if it exists
  std::string socket;
  std::string state_dir;
  int max_running = 0;
  int launch_workers = 4;
  int max_pulls = 2;
  std::string poll_interval = "1s";
  std::string stop_grace = "10s";
  std::string idle_timeout = "60s";
  std::string log_cap = "8M";
  bool keep_containers = false;
  std::string log_level = "info";
  std::string socket_group;
  std::string admin_group;
  std::size_t max_connections = 1024;
  std::size_t max_follows = 64;
  std::size_t follows_per_user = 8;
  std::size_t engine_calls_per_user = 4;
  std::size_t max_connections_per_user = 0;  // 0: a quarter of max_connections
  std::string max_request = "1M";
  std::string max_user_buffer = "64M";
  std::string request_timeout = "30s";
  std::string retention = "30d";  // finished jobs and their output; "0" keeps them forever
  std::string engine;  // unix:///path of dockerd's socket; "" = $DOCKER_HOST or the default
  // The swarm runtime's manager: unix:///path or tcp://HOST:PORT; "" = the
  // Docker engine's own socket.
  std::string swarm_host;
  std::string swarm_tls_dir;     // ca.pem, cert.pem, key.pem for a tcp:// manager; "" = plain
  int max_warm = 64;             // warm containers in all; 0: none
  std::string warm_ttl = "10m";  // an idle warm container older than this is recycled
  std::string warm_helper;       // jobq-warm; "" = next to jobqd, else where it is installed
};

// A duration ("500ms", "10s", "2m"...), a size ("8M") and --retention ("30d",
// "0" to keep forever), each named in its error.
std::chrono::milliseconds duration_option(const std::string& name, const std::string& value);
std::size_t size_option(const std::string& name, const std::string& value);
std::chrono::milliseconds retention_option(const std::string& value);

// Fills `o` from the command line over the configuration file: the file's
// settings first, then the command line again, so that flags override the
// file. Returns nullopt to go on, or the exit code (0 after --help or
// --version, 64 for any error).
std::optional<int> parse_command_line(Options& o, int argc, char** argv);

}  // namespace jobq
