// Human output of the CLI: tables and job details. --json output is the
// daemon's result with the schema version added (see docs/protocol.md).
#pragma once

#include <ostream>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace jobq::render {

// Columns padded to their widest cell; the first row is the header.
void table(std::ostream& out, const std::vector<std::vector<std::string>>& rows);

// A command line as a shell would need it typed: quoted where needed.
std::string shell_join(const nlohmann::json& argv);

void job_detail(std::ostream& out, const nlohmann::json& job);
void job_table(std::ostream& out, const nlohmann::json& jobs);
void app_detail(std::ostream& out, const nlohmann::json& app);
void app_table(std::ostream& out, const nlohmann::json& apps);
void status(std::ostream& out, const nlohmann::json& status);
void stats(std::ostream& out, const nlohmann::json& stats);
// 75 -> "1m15s", 90061 -> "1d1h1m"
std::string age(std::int64_t seconds);
// "failed (exit code 3)", "succeeded", "cancelled: cancelled while running"
std::string outcome(const nlohmann::json& job);

// {"schema": N, key: value}
nlohmann::json envelope(const char* key, const nlohmann::json& value);

}  // namespace jobq::render
