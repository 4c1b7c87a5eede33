#include "render.hpp"

#include <algorithm>
#include <stdexcept>

#include "base/time_util.hpp"
#include "job_cells.hpp"
#include "model/model.hpp"
#include "model/policy.hpp"

namespace jobq::render {

using nlohmann::json;

namespace {
std::string str(const json& j, const char* key, const char* none = "-") {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return none;
  if (it->is_string()) return it->get<std::string>();
  return it->dump();
}
}  // namespace

std::string visible(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  auto byte_escape = [&](unsigned char c) {
    out += "\\x";
    out += kHex[c >> 4];
    out += kHex[c & 15];
  };
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (c == '\n')
        out += "\\n";
      else if (c == '\t')
        out += "\\t";
      else if (c == '\r')
        out += "\\r";
      else if (c < 0x20 || c == 0x7f)
        byte_escape(c);
      else
        out += static_cast<char>(c);
      ++i;
      continue;
    }
    // A UTF-8 sequence: its length, the least code point it may encode
    // (no overlong forms), and no surrogates or code points past U+10FFFF.
    std::size_t len = 0;
    std::uint32_t cp = 0, least = 0;
    if (c >= 0xc2 && c <= 0xdf)
      len = 2, cp = c & 0x1fu, least = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
      len = 3, cp = c & 0x0fu, least = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
      len = 4, cp = c & 0x07u, least = 0x10000;
    bool ok = len > 0 && i + len <= text.size();
    for (std::size_t k = 1; ok && k < len; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      ok = (cc & 0xc0) == 0x80;
      cp = (cp << 6) | (cc & 0x3fu);
    }
    ok = ok && cp >= least && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff);
    if (!ok) {
      byte_escape(c);
      ++i;
      continue;
    }
    const bool control = (cp >= 0x80 && cp <= 0x9f) || (cp >= 0x202a && cp <= 0x202e) ||
                         (cp >= 0x2066 && cp <= 0x2069) || cp == 0x2028 || cp == 0x2029;
    if (control) {
      out += "\\u";
      for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(cp >> shift) & 15];
    } else {
      out.append(text.substr(i, len));
    }
    i += len;
  }
  return out;
}

json envelope(const char* key, const json& value) {
  return json{{"schema", kJsonSchemaVersion}, {key, value}};
}

void table(std::ostream& out, const std::vector<std::vector<std::string>>& raw) {
  std::vector<std::vector<std::string>> rows;
  rows.reserve(raw.size());
  for (const auto& r : raw) {
    rows.emplace_back();
    for (const auto& cell : r) rows.back().push_back(visible(cell));
  }
  std::vector<std::size_t> width;
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    out << line << '\n';
  }
}

std::string shell_join(const json& argv) {
  if (!argv.is_array()) return "(image default)";
  std::string out;
  bool first = true;
  for (const auto& a : argv) {
    const std::string s = a.is_string() ? a.get<std::string>() : a.dump();
    if (!out.empty()) out += ' ';
    // '=' is plain except in the first word, where a shell reads an assignment.
    const std::string_view safe = first ? "-_./:,@%+" : "-_./=:,@%+";
    first = false;
    const bool plain = !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || safe.find(c) != std::string_view::npos;
    });
    if (plain) {
      out += s;
    } else {
      out += '\'';
      for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
      out += '\'';
    }
  }
  return out;
}

std::string outcome(const json& job) {
  std::string s = str(job, "state");
  const auto code = job.find("exit_code");
  if ((s == "failed" || s == "succeeded") && code != job.end() && !code->is_null() &&
      code->get<int>() != 0)
    s += " (exit code " + std::to_string(code->get<int>()) + ")";
  const std::string reason = str(job, "reason", "");
  if (!reason.empty() && reason.rfind("exit code", 0) != 0) s += ": " + reason;
  if (job.value("cancel_requested", false) && (s == "running" || s == "starting"))
    s += " (cancelling)";
  return visible(s);
}

namespace {

// An attempt's OOM kill: yes, no, or "?" where its runtime could not tell.
std::string oom_cell(const json& attempt) {
  const auto it = attempt.find("oom_killed");
  if (it == attempt.end() || it->is_null()) return "?";
  return it->is_boolean() && it->get<bool>() ? "yes" : "no";
}
std::string ids(const json& list) {
  std::string s;
  for (const auto& id : list) s += (s.empty() ? "" : ",") + id.dump();
  return s;
}

std::string words(const json& list) {
  std::string s;
  for (const auto& w : list)
    s += (s.empty() ? "" : ",") + (w.is_string() ? w.get<std::string>() : w.dump());
  return s;
}

std::string ms(const json& v) {
  const auto n = v.is_number_integer() ? v.get<std::int64_t>() : 0;
  if (n % 1000 != 0 || n == 0) return std::to_string(n) + "ms";
  return std::to_string(n / 1000) + "s";
}

std::string retry_policy(const json& r) {
  const int limit = r.value("limit", 0);
  if (limit == 0) return "none";
  return std::to_string(limit) + " (delay up to " + ms(r.value("base_ms", json(0))) +
         " doubling, at most " + ms(r.value("max_ms", json(0))) + ", full jitter; on " +
         words(r.value("on", json::array())) + ")";
}

std::string resources(const json& r) {
  std::vector<std::string> parts;
  if (r.value("memory_bytes", 0LL) > 0)
    parts.push_back("memory " + format_size(r.value("memory_bytes", 0LL)));
  if (r.value("nano_cpus", 0LL) > 0)
    parts.push_back("cpus " + format_cpus(r.value("nano_cpus", 0LL)));
  if (r.value("pids_limit", 0LL) > 0)
    parts.push_back("pids " + std::to_string(r.value("pids_limit", 0LL)));
  if (!r.value("network", std::string()).empty())
    parts.push_back("network " + r.value("network", std::string()));
  if (r.value("read_only", false)) parts.push_back("read-only root");
  if (!r.value("user", std::string()).empty())
    parts.push_back("user " + r.value("user", std::string()));
  if (!r.value("job_users", std::string()).empty())
    parts.push_back("job users " + r.value("job_users", std::string()));
  std::string s;
  for (const auto& p : parts) s += (s.empty() ? "" : ", ") + p;
  return s;
}

// Whether the daemon withheld `field` from this reader (see visibility.hpp).
bool withheld(const json& record, const char* field) {
  const json list = record.value("redacted", json::array());
  return std::find(list.begin(), list.end(), json(field)) != list.end();
}

constexpr const char* kWithheldJob = "(withheld: only its owner and admins see it)";

std::string env_entry(const std::string& name, const json& value) {
  if (value.is_null()) return name + "=(withheld)";
  return name + "=" + (value.is_string() ? value.get<std::string>() : value.dump());
}

std::string webhooks(const json& w) {
  if (w.contains("urls") && w["urls"].is_null()) return "(withheld: admins only)";
  const json urls = w.value("urls", json::array());
  if (urls.empty()) return "none";
  return words(urls) + " (on " + words(w.value("on", json::array())) + ")";
}
}  // namespace

std::string command_text(const json& job) {
  if (withheld(job, "command")) return "(withheld)";
  return shell_join(job.value("command", json(nullptr)));
}

void job_detail(std::ostream& out, const json& job) {
  const json by = job.value("submitted_by", json::object());
  const std::int64_t now = now_unix_ns();
  std::vector<std::vector<std::string>> rows{
      {"job:", str(job, "id")},
      {"app:", str(job, "app")},
      {"state:", outcome(job)},
  };
  if (const std::string why = pending_text(job, now); !why.empty())
    rows.push_back({"waiting:", why});
  std::vector<std::vector<std::string>> more{
      {"exit code:", str(job, "exit_code")},
      {"command:",
       withheld(job, "command") ? kWithheldJob : shell_join(job.value("command", json(nullptr)))},
      {"message:", withheld(job, "message")                               ? kWithheldJob
                   : job.contains("message") && !job["message"].is_null() ? job["message"].dump()
                                                                          : "-"},
      {"created:", local_time(job, "created_at")},
      {"started:", local_time(job, "started_at")},
      {"finished:", local_time(job, "finished_at")},
      {"queued for:", queue_time(job, now)},
      {"ran for:", run_time(job, now)},
      {"submitted by:", str(by, "user") + " (uid " + str(by, "uid") + ")"},
  };
  rows.insert(rows.end(), more.begin(), more.end());
  if (const json c = job.value("cancelled_by", json(nullptr)); c.is_object())
    rows.push_back({"cancelled by:",
                    str(c, "user") + " (uid " + str(c, "uid") + ")" +
                        (c.value("admin", false) ? ", an admin: only an admin may retry it" : "")});
  if (withheld(job, "output")) rows.push_back({"output:", kWithheldJob});
  if (job.value("priority", 0) != 0) rows.push_back({"priority:", str(job, "priority")});
  if (!str(job, "not_before", "").empty())
    rows.push_back({"not before:", local_time(job, "not_before")});
  if (job.value("held", false))
    rows.push_back({"held:", "yes (jobq release " + str(job, "id") + ")"});
  if (!str(job, "key", "").empty()) rows.push_back({"key:", str(job, "key")});
  if (job.value("timeout_ms", 0) > 0) rows.push_back({"timeout:", str(job, "timeout_ms") + " ms"});
  if (job.value("retries_used", 0) > 0) rows.push_back({"retries used:", str(job, "retries_used")});
  if (!job.value("retry", json(nullptr)).is_null()) rows.push_back({"retry:", job["retry"].dump()});
  if (!job.value("after", json::array()).empty())
    rows.push_back({"after:", ids(job["after"]) + " (all must succeed)"});
  if (!job.value("after_any", json::array()).empty())
    rows.push_back({"after any:", ids(job["after_any"]) + " (all must end)"});
  if (job.value("waiting_on", 0) > 0 && str(job, "state") == "pending")
    rows.push_back({"waiting on:", str(job, "waiting_on") + " dependenc" +
                                       (job.value("waiting_on", 0) == 1 ? "y" : "ies")});
  if (const auto res = resources(job.value("resources", json::object())); !res.empty())
    rows.push_back({"resources:", res});
  const json env = job.value("env", json::object());
  for (const auto& [k, v] : env.items()) rows.push_back({"env:", env_entry(k, v)});
  const json labels = job.value("labels", json::object());
  for (const auto& [k, v] : labels.items())
    rows.push_back({"label:", k + "=" + (v.is_string() ? v.get<std::string>() : v.dump())});
  table(out, rows);
  const json attempts = job.value("attempts", json::array());
  if (attempts.empty()) return;
  out << "attempts:\n";
  std::vector<std::vector<std::string>> arows{
      {"  #", "STATE", "EXIT", "OOM", "CONTAINER", "STARTED", "FINISHED", "RAN"}};
  for (const auto& a : attempts)
    arows.push_back({"  " + str(a, "number"), str(a, "state"), str(a, "exit_code"), oom_cell(a),
                     str(a, "container_name"), local_time(a, "started_at"),
                     local_time(a, "finished_at"), run_time(a, now)});
  table(out, arows);
  for (const auto& a : attempts) {
    if (!str(a, "reason", "").empty())
      out << "  attempt " << str(a, "number") << ": " << visible(str(a, "reason")) << '\n';
    else if (!str(a, "error", "").empty())
      out << "  attempt " << str(a, "number") << " error: " << visible(str(a, "error")) << '\n';
  }
  // Where a run ran and whose its times are, when not this machine's engine's.
  for (const auto& a : attempts) {
    const std::string node = str(a, "node", "");
    const bool scheduler_times = str(a, "times_from", "") == "scheduler";
    if (node.empty() && !scheduler_times) continue;
    out << "  attempt " << str(a, "number");
    const std::string node_id = str(a, "node_id", "");
    if (!node.empty())
      out << " ran on " << visible(node)
          << (node_id.empty() ? "" : " (node " + visible(node_id.substr(0, 12)) + ")")
          << (scheduler_times ? ";" : "");
    if (scheduler_times) out << " its times are the scheduler's, not the process's own";
    out << '\n';
  }
  // A warm run: its start is the hand-off, its container's own start earlier.
  for (const auto& a : attempts)
    if (a.value("warm", false))
      out << "  attempt " << str(a, "number") << " ran warm: handed to a container started at "
          << local_time(a, "warm_started_at")
          << "; its start is the hand-off (jobq's clock), its finish Docker's\n";
}

namespace {

// Where the job's last attempt ran ("-": this machine's engine, or not yet).
std::string node_cell(const json& job) {
  return str(job, "node", "-");
}

std::string labels_cell(const json& job) {
  std::string s;
  const json labels = job.value("labels", json::object());
  for (const auto& [k, v] : labels.items())
    s += (s.empty() ? "" : ",") + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
  return s.empty() ? "-" : s;
}

}  // namespace

const std::vector<JobColumn>& job_columns() {
  static const std::vector<JobColumn> columns{
      {"id", "ID", [](const json& j) { return str(j, "id"); }},
      {"app", "APP", [](const json& j) { return str(j, "app"); }},
      {"state", "STATE", state_cell},
      {"exit", "EXIT", [](const json& j) { return str(j, "exit_code"); }},
      {"user", "USER",
       [](const json& j) { return str(j.value("submitted_by", json::object()), "user"); }},
      {"uid", "UID",
       [](const json& j) { return str(j.value("submitted_by", json::object()), "uid"); }},
      {"created", "CREATED", [](const json& j) { return local_time(j, "created_at"); }},
      {"started", "STARTED", [](const json& j) { return local_time(j, "started_at"); }},
      {"finished", "FINISHED", [](const json& j) { return local_time(j, "finished_at"); }},
      {"ran", "RAN", [](const json& j) { return run_time(j, now_unix_ns()); }},
      {"queued", "QUEUED", [](const json& j) { return queue_time(j, now_unix_ns()); }},
      {"pending", "WAITING FOR", [](const json& j) { return pending_short(j); }},
      {"priority", "PRIORITY", [](const json& j) { return str(j, "priority", "0"); }},
      {"held", "HELD",
       [](const json& j) { return std::string(j.value("held", false) ? "yes" : "no"); }},
      {"attempts", "ATTEMPTS",
       [](const json& j) { return std::to_string(j.value("attempts", json::array()).size()); }},
      {"labels", "LABELS", labels_cell},
      {"key", "KEY", [](const json& j) { return str(j, "key"); }},
      {"reason", "REASON", [](const json& j) { return str(j, "reason", "-"); }},
      {"node", "NODE", node_cell},
      {"outcome", "OUTCOME", [](const json& j) { return outcome(j); }},
      {"command", "COMMAND",
       [](const json& j) {
         std::string cmd = command_text(j);
         if (cmd.size() > 60) cmd = cmd.substr(0, 57) + "...";
         return cmd;
       }},
  };
  return columns;
}

std::vector<const JobColumn*> parse_job_columns(std::string_view spec) {
  std::vector<const JobColumn*> out;
  std::string known;
  for (const auto& c : job_columns()) known += (known.empty() ? "" : ", ") + std::string(c.name);
  std::size_t pos = 0;
  for (;;) {
    const std::size_t comma = std::min(spec.find(',', pos), spec.size());
    std::string name(spec.substr(pos, comma - pos));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    const auto& all = job_columns();
    const auto it =
        std::find_if(all.begin(), all.end(), [&](const JobColumn& c) { return c.name == name; });
    if (it == all.end())
      throw std::invalid_argument((name.empty() ? std::string("an empty column name")
                                                : "no column '" + visible(name) + "'") +
                                  " (columns: " + known + ")");
    out.push_back(&*it);
    if (comma == spec.size()) break;
    pos = comma + 1;
  }
  return out;
}

void job_table(std::ostream& out, const json& jobs, const std::vector<const JobColumn*>& columns,
               bool header) {
  std::vector<std::vector<std::string>> rows;
  if (header) {
    rows.emplace_back();
    for (const auto* c : columns) rows.back().emplace_back(c->header);
  }
  for (const auto& j : jobs) {
    rows.emplace_back();
    for (const auto* c : columns) rows.back().push_back(c->cell(j));
  }
  table(out, rows);
}

std::vector<const JobColumn*> default_job_columns(const json& jobs) {
  // Where jobs ran, when any ran elsewhere than this machine's engine.
  const bool nodes =
      std::any_of(jobs.begin(), jobs.end(), [](const json& j) { return node_cell(j) != "-"; });
  return parse_job_columns(std::string(kDefaultJobColumns) + (nodes ? ",node" : ""));
}

void job_table(std::ostream& out, const json& jobs) {
  job_table(out, jobs, default_job_columns(jobs));
}

void app_detail(std::ostream& out, const json& app) {
  const int max = app.value("max_running", 0);
  std::vector<std::vector<std::string>> rows{
      {"app:", str(app, "name")},
      {"image:", str(app, "image")},
      {"pull:", app.value("pull", "missing")},
      {"runtime:", app.value("runtime", "docker")},
      {"warm:", app.contains("warm") && app["warm"].is_string() ? "auto (sized from its launches)"
                : app.value("warm", 0) > 0 ? std::to_string(app.value("warm", 0)) + " containers"
                                           : "none"},
      {"max running:", max == 0 ? "unlimited" : std::to_string(max)},
      {"timeout:", app.value("timeout_ms", 0) > 0 ? str(app, "timeout_ms") + " ms" : "none"},
      {"paused:",
       app.value("paused", false) ? "yes (jobq app resume " + str(app, "name") + ")" : "no"},
      {"retries:", retry_policy(app.value("retry", json::object()))},
      {"resources:", resources(app.value("resources", json::object())).empty()
                         ? "no limits"
                         : resources(app.value("resources", json::object()))},
      {"webhooks:", webhooks(app.value("webhooks", json::object()))},
      {"created:", local_time(app, "created_at")},
      {"updated:", local_time(app, "updated_at")},
  };
  const json placement = app.value("placement", json::object());
  for (const auto& c : placement.value("constraints", json::array()))
    rows.push_back({"constraint:", c.is_string() ? c.get<std::string>() : c.dump()});
  if (const int n = placement.value("max_per_node", 0); n > 0)
    rows.push_back({"per node:", "at most " + std::to_string(n) + " of its jobs"});
  if (const auto ms = placement.value("schedule_timeout_ms", std::int64_t{0}); ms > 0)
    rows.push_back({"schedule timeout:", std::to_string(ms) + " ms"});
  const json env = app.value("env", json::object());
  for (const auto& [k, v] : env.items()) rows.push_back({"env:", env_entry(k, v)});
  table(out, rows);
}

void app_table(std::ostream& out, const json& apps) {
  std::vector<std::vector<std::string>> rows{{"NAME", "IMAGE", "MAX RUNNING", "PAUSED", "ENV"}};
  for (const auto& a : apps) {
    const int max = a.value("max_running", 0);
    rows.push_back({str(a, "name"), str(a, "image"), max == 0 ? "unlimited" : std::to_string(max),
                    a.value("paused", false) ? "yes" : "no",
                    std::to_string(a.value("env", json::object()).size())});
  }
  table(out, rows);
}

std::string age(std::int64_t seconds) {
  if (seconds < 0) seconds = 0;
  const std::int64_t d = seconds / 86400, h = seconds / 3600 % 24, m = seconds / 60 % 60,
                     s = seconds % 60;
  if (d > 0) return std::to_string(d) + "d" + std::to_string(h) + "h" + std::to_string(m) + "m";
  if (h > 0) return std::to_string(h) + "h" + std::to_string(m) + "m";
  if (m > 0) return std::to_string(m) + "m" + std::to_string(s) + "s";
  return std::to_string(s) + "s";
}

void status(std::ostream& out, const json& st) {
  const json engine = st.value("engine", json::object());
  std::string jobs;
  const json counts = st.value("jobs", json::object());
  for (const auto& [state, n] : counts.items())
    jobs += (jobs.empty() ? "" : ", ") + state + " " + n.dump();
  const int max = st.value("max_running", 0);
  std::string strangers;
  const json unknown = st.value("unknown_containers", json::array());
  for (const auto& name : unknown)
    strangers += (strangers.empty() ? "" : ", ") +
                 (name.is_string() ? name.get<std::string>() : name.dump());
  const auto engine_text = [](const json& e) {
    if (!e.value("reachable", false)) return "UNREACHABLE: " + str(e, "error");
    std::string t = "reachable";
    if (!str(e, "version", "").empty()) t += ", Docker " + str(e, "version");
    return t + ", API " + str(e, "api_version");
  };
  std::vector<std::vector<std::string>> rows{
      {"jobqd:",
       str(st, "version") + " (pid " + str(st, "pid") + ", protocol " + str(st, "protocol") + ")"},
      {"up:", age(st.value("uptime_s", 0LL)) + " (since " + str(st, "started_at") + ")"},
      {"socket:", str(st, "socket")},
      {"state dir:", str(st, "state_dir")},
      {"engine:", engine_text(engine)},
  };
  // Other runtimes, once an application uses one (their engine as last checked).
  const json runtimes = st.value("runtimes", json::object());
  for (const auto& [kind, e] : runtimes.items())
    if (kind != "docker" && e.is_object() && e.value("apps", 0) > 0)
      rows.push_back({kind + ":", engine_text(e) + " (" + std::to_string(e.value("apps", 0)) +
                                      " application" + (e.value("apps", 0) == 1 ? ")" : "s)")});
  rows.push_back({"max running:", max == 0 ? "unlimited" : std::to_string(max)});
  rows.push_back({"jobs:", jobs.empty() ? "none" : jobs});
  rows.push_back({"unknown containers:",
                  strangers.empty()
                      ? "none"
                      : strangers + " (labelled as ours, no job knows them; left alone)"});
  table(out, rows);
  const json apps = st.value("apps", json::array());
  if (apps.empty()) return;
  out << '\n';
  rows = {{"APP", "RUNNING", "PENDING", "FAILED (1h)", "OLDEST PENDING", ""}};
  for (const auto& a : apps) {
    const int limit = a.value("max_running", 0);
    const json oldest = a.value("oldest_pending_age_s", json(nullptr));
    rows.push_back({str(a, "name"),
                    str(a, "running") + "/" + (limit == 0 ? "-" : std::to_string(limit)),
                    str(a, "pending"), str(a, "failed_last_hour"),
                    oldest.is_number_integer() ? age(oldest.get<std::int64_t>()) : "-",
                    a.value("paused", false) ? "paused" : ""});
  }
  table(out, rows);
  const json pools = st.value("warm_pools", json::array());
  if (pools.empty()) return;
  out << '\n';
  rows = {{"WARM POOL", "SIZE", "IDLE", "HITS", "MISSES"}};
  for (const auto& p : pools)
    rows.push_back({str(p, "app"), str(p, "size") + (p.value("auto", false) ? " (auto)" : ""),
                    str(p, "idle"), str(p, "hits"), str(p, "misses")});
  table(out, rows);
}

void stats(std::ostream& out, const json& st) {
  const json apps = st.value("apps", json::array());
  if (apps.empty()) {
    out << "no job ended since " << visible(str(st, "since")) << '\n';
    return;
  }
  auto ms = [](const json& spread, const char* key) -> std::string {
    if (!spread.is_object() || !spread.contains(key)) return "-";
    const auto v = spread[key].get<std::int64_t>();
    if (v < 1000) return std::to_string(v) + "ms";
    if (v < 60'000) return std::to_string(v / 1000) + "." + std::to_string(v % 1000 / 100) + "s";
    return age(v / 1000);
  };
  std::vector<std::vector<std::string>> rows{
      {"APP", "ENDED", "STATES", "RUN p50", "p95", "max", "WAIT p50", "p95", "max"}};
  for (const auto& a : apps) {
    std::string states;
    const json counts = a.value("states", json::object());
    for (const auto& [k, v] : counts.items())
      states += (states.empty() ? "" : " ") + k + "=" + v.dump();
    const json d = a.value("duration_ms", json(nullptr)),
               w = a.value("queue_wait_ms", json(nullptr));
    rows.push_back({str(a, "app"), str(a, "ended"), states, ms(d, "p50"), ms(d, "p95"),
                    ms(d, "max"), ms(w, "p50"), ms(w, "p95"), ms(w, "max")});
  }
  table(out, rows);
  out << "(jobs that ended since " << visible(str(st, "since")) << ")\n";
}

}  // namespace jobq::render
