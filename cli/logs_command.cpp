// jobq logs: a job's stored output, or -f to follow it live through retries.
#include "commands.hpp"

#include <iostream>

#include "base/base64.hpp"
#include "cli_util.hpp"
#include "exit_codes.hpp"
#include "render.hpp"
#include "wire/commands.hpp"
#include "wire/protocol.hpp"

namespace jobq {

using nlohmann::json;

namespace {

// Why a job that has no attempt has no output: "job 7 never started: it was
// cancelled while pending", "job 8 has not started yet: it is held".
std::string never_started(std::int64_t id, const json& r) {
  const std::string job = "job " + std::to_string(id);
  const std::string state = r.value("state", "");
  const std::string reason = render::visible(r.value("reason", ""));
  if (state == "pending")
    return job + " has not started yet: it is " +
           (r.value("held", false) ? "held (jobq release " + std::to_string(id) + ")"
                                   : "pending (jobq show " + std::to_string(id) + ")");
  if (state == "cancelled") return job + " never started: it was cancelled while pending";
  if (state == "skipped") return job + " never started: it was skipped (" + reason + ")";
  return job + " never started: it ended " + state + (reason.empty() ? "" : " (" + reason + ")");
}

}  // namespace

void add_logs_command(CLI::App& root, Globals& g, std::function<int()>& action) {
  {
    auto* c = root.add_subcommand("logs",
                                  "Print a job's output (stdout, or --stderr); -f follows it live");
    auto id = std::make_shared<std::string>();
    auto err = std::make_shared<bool>(false);
    auto both = std::make_shared<bool>(false);
    auto attempt = std::make_shared<int>(0);
    auto follow = std::make_shared<bool>(false);
    auto tail = std::make_shared<std::string>();
    auto since = std::make_shared<std::string>();
    auto timestamps = std::make_shared<bool>(false);
    c->add_option("id", *id, "Job id")->required();
    c->add_flag("--stderr", *err, "Print standard error instead of standard output");
    c->add_flag("--both", *both, "Print both: standard output to stdout, standard error to stderr");
    c->add_option("--attempt", *attempt, "Which attempt (default: the last)")
        ->check(CLI::Range(1, 1000000));
    c->add_flag("-f,--follow", *follow,
                "Follow the output as it is written, through retries, until the job ends");
    c->add_option(
         "--tail", *tail,
         "Only the last N lines, or 'all' (default: all stored output; of a running job, its "
         "last 1000 lines)")
        ->check(CLI::Validator(
            [](std::string& v) -> std::string {
              if (v == "all" || CLI::Range(0, 100000000)(v).empty()) return "";
              return "'" + v + "' is neither a number of lines (0..100000000) nor 'all'";
            },
            "N|all"));
    c->add_option(
        "--since", *since,
        "Only lines written since then: a duration ago (10m) or a time (RFC 3339, 'HH:MM')");
    c->add_flag("-t,--timestamps", *timestamps, "Start each line with the time Docker saw it");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        if (*err && *both) throw UsageError("give --stderr or --both, not both");
        json args{{"id", parse_id(*id)}};
        if (*attempt > 0) args["attempt"] = *attempt;
        if (!tail->empty()) args["tail"] = *tail == "all" ? -1 : std::stoi(*tail);
        if (*timestamps) args["timestamps"] = true;
        if (!since->empty()) args["since"] = since_arg(*since, "--since");
        auto write = [](const std::string& stream, const std::string& bytes) {
          std::ostream& out = stream == "stderr" ? std::cerr : std::cout;
          out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
          out.flush();
        };
        if (*follow) {
          args["follow"] = true;
          args["stream"] = *both ? "both" : *err ? "stderr" : "stdout";
          int shown_attempt = 0;
          g.client().stream(cmd::logs, args, [&](const json& frame) {
            const auto data = base64_decode(frame.value("data_base64", ""));
            if (!data) throw ProtocolError(ErrorCode::internal, "jobqd sent undecodable log data");
            const int n = frame.value("attempt", 0);
            if (shown_attempt != 0 && n != shown_attempt)
              std::cerr << "jobq: --- attempt " << n << " ---\n";
            shown_attempt = n;
            write(*both ? frame.value("stream", "stdout") : "stdout", *data);
          });
          return exit_code::ok;
        }
        for (const char* stream : {"stdout", "stderr"}) {
          if (std::string(stream) == "stdout" ? *err : !(*err || *both)) continue;
          args["stream"] = stream;
          const json r = g.client().call(cmd::logs, args);
          if (!r.value("started", true)) {
            std::cerr << "jobq: " << never_started(args["id"].get<std::int64_t>(), r) << '\n';
            break;
          }
          const auto data = base64_decode(r.value("data_base64", ""));
          if (!data) throw ProtocolError(ErrorCode::internal, "jobqd sent undecodable log data");
          write(*both ? stream : "stdout", *data);
          if (r.value("more", false))
            std::cerr << "jobq: note: job " << args["id"] << " is running: this is its last "
                      << r.value("default_tail", 0)
                      << " lines; --tail N or --tail all shows more\n";
          if (r.value("truncated", false))
            std::cerr << "jobq: note: output was cut; only the last part of "
                      << r.value("total_bytes", 0) << " bytes was kept (jobqd --log-cap)\n";
        }
        return exit_code::ok;
      };
    });
  }
}

}  // namespace jobq
