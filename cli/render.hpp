// Human output of the CLI: tables and job details. --json output is the
// daemon's result with the schema version added (the README's "JSON output" section).
// Every cell of human output goes through visible(): text a user controls
// (commands, keys, env, labels, messages, reasons) can never drive the
// terminal. `jobq logs` alone prints a job's output raw.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace jobq::render {

// `text` safe to print on a terminal: valid UTF-8 is kept; C0 controls,
// DEL, C1 controls (U+0080..U+009F), the bidirectional overrides and
// isolates (U+202A..U+202E, U+2066..U+2069) and line/paragraph separators
// are shown as escapes (\n, \t, \r, \x1b, \u009b, \u202e); each byte of
// invalid UTF-8 as \xNN. So nothing printed can clear the screen, set the
// window title or write the clipboard (OSC 52). The result contains no
// control character, so visible(visible(s)) == visible(s).
std::string visible(std::string_view text);

// Columns padded to their widest cell; the first row is the header. Every
// cell is printed through visible().
void table(std::ostream& out, const std::vector<std::vector<std::string>>& rows);

// A command line as a shell would need it typed: quoted where needed.
std::string shell_join(const nlohmann::json& argv);

// A job's command as shell_join() writes it, or "(withheld)" when the
// daemon withheld it from this reader (see lib/visibility.hpp).
std::string command_text(const nlohmann::json& job);

void job_detail(std::ostream& out, const nlohmann::json& job);

// A column of the job table (`jobq list --format`): its name, its header
// and how a job's cell reads. Adding a column is one entry in render.cpp's
// table of them; names are stable (scripts use them).
struct JobColumn {
  std::string_view name;
  std::string_view header;
  std::string (*cell)(const nlohmann::json& job);
};
// Every column, in the order `jobq list --help` names them.
const std::vector<JobColumn>& job_columns();
// The columns `jobq list` prints without --format.
inline constexpr std::string_view kDefaultJobColumns = "id,app,state,exit,user,created,command";
// "id,state,exit" (names, comma-separated, any case) -> those columns.
// Throws std::invalid_argument naming an unknown or missing column and the known ones.
std::vector<const JobColumn*> parse_job_columns(std::string_view spec);
// The default columns, with `node` when any of these jobs ran on a node.
std::vector<const JobColumn*> default_job_columns(const nlohmann::json& jobs);
void job_table(std::ostream& out, const nlohmann::json& jobs,
               const std::vector<const JobColumn*>& columns, bool header = true);
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
