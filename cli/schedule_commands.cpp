// jobq schedule create|update|list|show|pause|resume|delete|run: recurring
// jobs. A schedule's job takes enqueue's options but those each slot decides
// (time, key, dependencies).
#include <iostream>

#include "commands.hpp"
#include "enqueue_options.hpp"
#include "exit_codes.hpp"
#include "job_cells.hpp"
#include "render.hpp"
#include "wire/commands.hpp"

namespace jobq {

using nlohmann::json;

namespace {

std::string str(const json& j, const char* key) {
  const auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

std::string when(const json& s, const char* key) {
  const std::string t = render::local_time(s, key);
  return t.empty() ? "-" : t;
}

std::string job_ref(const json& s, const char* key) {
  const auto it = s.find(key);
  return it == s.end() || it->is_null() ? "-" : "job " + it->dump();
}

void schedule_table(std::ostream& out, const json& schedules, bool owners) {
  std::vector<std::vector<std::string>> rows{{"NAME", "APP", "CRON", "TZ", "NEXT", "LAST SUCCESS",
                                              "LAST FAILURE", "MISSED", "SKIPPED", "PAUSED"}};
  if (owners) rows[0].insert(rows[0].begin(), "OWNER");
  for (const auto& s : schedules) {
    const json slots = s.value("slots", json::object());
    std::vector<std::string> row{str(s, "name"),
                                 str(s, "app"),
                                 str(s, "cron"),
                                 str(s, "tz"),
                                 s.value("paused", false) ? "-" : when(s, "next_slot"),
                                 job_ref(s, "last_success_job"),
                                 job_ref(s, "last_failure_job"),
                                 std::to_string(slots.value("missed", 0)),
                                 std::to_string(slots.value("skipped", 0)),
                                 s.value("paused", false) ? "yes" : "no"};
    if (owners) row.insert(row.begin(), str(s.value("owner", json::object()), "user"));
    rows.push_back(std::move(row));
  }
  render::table(out, rows);
}

void schedule_detail(std::ostream& out, const json& s) {
  const json job = s.value("job", json::object());
  const json slots = s.value("slots", json::object());
  std::string after;
  if (s.value("after_previous", false)) after = "the previous slot's job (it must succeed)";
  if (!str(s, "after_schedule").empty())
    after += (after.empty() ? "" : "; ") + std::string("schedule ") + str(s, "after_schedule") +
             "'s job of the same time";
  std::vector<std::vector<std::string>> rows{
      {"schedule:", str(s, "name")},
      {"owner:", str(s.value("owner", json::object()), "user")},
      {"app:", str(s, "app")},
      {"cron:", str(s, "cron") + " (" + str(s, "tz") + ")"},
      {"command:", job.contains("command") ? render::shell_join(job["command"]) : "(the image's)"},
      {"catch-up:",
       str(s, "catch_up") +
           (str(s, "catch_up") == "all" ? " (at most " + str(s, "catch_up_max") + ")" : "")},
      {"starting deadline:", s.value("starting_deadline_s", json()).is_null()
                                 ? "none"
                                 : str(s, "starting_deadline_s") + " s"},
      {"overlap:", str(s, "overlap")},
      {"waits for:", after.empty() ? "nothing" : after},
      {"paused:",
       s.value("paused", false) ? "yes (jobq schedule resume " + str(s, "name") + ")" : "no"},
      {"slots:", std::to_string(slots.value("fired", 0)) + " fired, " +
                     std::to_string(slots.value("skipped", 0)) + " skipped, " +
                     std::to_string(slots.value("missed", 0)) + " missed"},
      {"last success:", job_ref(s, "last_success_job")},
      {"last failure:", job_ref(s, "last_failure_job")},
  };
  bool first = true;
  for (const auto& t : s.value("next_slots", json::array())) {
    rows.push_back({first ? "next:" : "", when(json{{"t", t}}, "t")});
    first = false;
  }
  if (first) rows.push_back({"next:", "-"});
  render::table(out, rows);
  const json recent = s.value("recent_slots", json::array());
  if (recent.empty()) return;
  out << '\n';
  std::vector<std::vector<std::string>> table{{"SLOT", "OUTCOME", "JOB", "STATE", "REASON"}};
  for (const auto& r : recent) {
    std::string slot = render::local_time(r, "slot");
    if (r.value("count", 1) > 1)
      slot += " .. " + render::local_time(r, "last_slot") + " (" + str(r, "count") + " slots)";
    if (r.value("manual", false)) slot += " (run by hand)";
    table.push_back({slot, str(r, "outcome"), str(r, "job").empty() ? "-" : str(r, "job"),
                     str(r, "job_state").empty() ? "-" : str(r, "job_state"),
                     str(r, "reason").empty() ? "-" : str(r, "reason")});
  }
  render::table(out, table);
}

// --tz, --catch-up, --catch-up-max, --starting-deadline, --overlap,
// --after-previous, --after-schedule: shared by create and update.
struct SlotOptions {
  std::string cron, tz, catch_up, deadline, overlap, after_schedule;
  int catch_up_max = 0;
  bool after_previous = false, no_after_previous = false;

  static std::shared_ptr<SlotOptions> add_to(CLI::App& c, bool update) {
    auto o = std::make_shared<SlotOptions>();
    auto* cron = c.add_option("--cron", o->cron,
                              "When it fires: five cron fields (minute hour day month weekday), "
                              "six with seconds first, or @hourly, @daily, @weekly, @monthly, "
                              "@yearly");
    if (!update) cron->required();
    c.add_option("--tz", o->tz,
                 "The time zone its cron fields are read in (a zone database name: "
                 "Europe/Paris; default UTC)");
    c.add_option("--catch-up", o->catch_up,
                 "Slots that passed while jobqd was down or the schedule paused: none (missed), "
                 "last (the newest fires; the default), all (the newest --catch-up-max fire)")
        ->check(CLI::IsMember({"none", "last", "all"}));
    c.add_option("--catch-up-max", o->catch_up_max,
                 "With --catch-up all: at most this many (1-1000; default 10)")
        ->check(CLI::Range(1, 1000));
    c.add_option("--starting-deadline", o->deadline,
                 "A slot not fired within this long of its time is missed (e.g. 5m; 0 = none)");
    c.add_option("--overlap", o->overlap,
                 "When the previous slot's job has not ended: allow (the default), forbid (the "
                 "slot is skipped), replace (that job is cancelled; this one starts once it "
                 "stopped)")
        ->check(CLI::IsMember({"allow", "forbid", "replace"}));
    c.add_flag("--after-previous", o->after_previous,
               "A slot's job waits for the previous slot's to succeed (skipped if it did not)");
    if (update)
      c.add_flag("--no-after-previous", o->no_after_previous,
                 "No longer wait for the previous slot");
    c.add_option("--after-schedule", o->after_schedule,
                 "A slot's job waits for the job of your schedule OTHER whose slot is the latest "
                 "at or before its own (tonight's report after tonight's import)" +
                     std::string(update ? "; \"\" to stop" : ""));
    return o;
  }
  void to_args(json& args) const {
    if (!cron.empty()) args["cron"] = cron;
    if (!tz.empty()) args["tz"] = tz;
    if (!catch_up.empty()) args["catch_up"] = catch_up;
    if (catch_up_max > 0) args["catch_up_max"] = catch_up_max;
    if (!deadline.empty())
      args["starting_deadline_s"] =
          deadline == "0" ? 0 : duration_ms(deadline, "--starting-deadline") / 1000;
    if (!overlap.empty()) args["overlap"] = overlap;
    if (after_previous && no_after_previous)
      throw UsageError("give --after-previous or --no-after-previous, not both");
    if (after_previous) args["after_previous"] = true;
    if (no_after_previous) args["after_previous"] = false;
  }
};

void print_schedule(const json& s, bool as_json) {
  if (as_json)
    print_json(render::envelope("schedule", s));
  else
    schedule_detail(std::cout, s);
}

}  // namespace

void add_schedule_commands(CLI::App& root, Globals& g, Action& action) {
  auto* sched = root.add_subcommand(
      "schedule", "Recurring jobs: a job enqueued at each slot of a cron expression");
  sched->require_subcommand(1);
  for (const bool update : {false, true}) {
    auto* c = sched->add_subcommand(
        update ? "update" : "create",
        update ? "Change a schedule: its time, policies or job (the job's options given replace "
                 "those fields of its job; -- CMD its command)"
               : "Make a schedule: jobq schedule create NAME APP --cron EXPR [options] [-- CMD "
                 "[ARG...]]");
    auto name = std::make_shared<std::string>();
    auto app = std::make_shared<std::string>();
    auto command = std::make_shared<std::vector<std::string>>();
    auto as_json = std::make_shared<bool>(false);
    auto paused = std::make_shared<bool>(false);
    auto owner = std::make_shared<std::string>();
    auto after_schedule_given = std::make_shared<bool>(false);
    c->add_option("name", *name, "Schedule name (yours: names are per user)")->required();
    if (!update) c->add_option("app", *app, "Application its jobs run in")->required();
    c->add_option("command", *command,
                  "Command and arguments (default: the image's); all after its first word is its "
                  "own");
    if (update) {
      c->add_option("--app", *app, "Run its jobs in this application from now on");
      c->add_option("--owner", *owner, "Whose schedule (admins: another user's)");
    } else {
      c->add_flag("--paused", *paused, "Make it paused (resume fires its slots from then)");
    }
    auto slot = SlotOptions::add_to(*c, update);
    auto job = EnqueueOptions::add_to(*c, EnqueueOptions::For::each_slot);
    c->add_flag("--json", *as_json, "Print the schedule as JSON");
    c->callback([=, &g, &action] {
      *after_schedule_given = c->count("--after-schedule") > 0;
      action = [=, &g] {
        json args{{"name", *name}};
        if (!app->empty()) args["app"] = *app;
        if (!owner->empty()) args["owner"] = *owner;
        slot->to_args(args);
        if (*after_schedule_given) args["after_schedule"] = slot->after_schedule;
        json job_args = json::object();
        job->to_args(job_args);
        if (!command->empty()) job_args["command"] = *command;
        if (!update || !job_args.empty()) args["job"] = job_args;
        if (*paused) args["paused"] = true;
        const json s = g.client().call(update ? cmd::schedule_update : cmd::schedule_create, args);
        if (*as_json || update)
          print_schedule(s, *as_json);
        else
          std::cout << "created schedule " << render::visible(*name) << "; next slot "
                    << (s["next_slots"].empty() ? "-" : when(json{{"t", s["next_slots"][0]}}, "t"))
                    << '\n';
        return exit_code::ok;
      };
    });
  }
  {
    auto* c =
        sched->add_subcommand("list", "List your schedules: next slot, last success and failure");
    auto as_json = std::make_shared<bool>(false);
    auto all = std::make_shared<bool>(false);
    auto owner = std::make_shared<std::string>();
    c->add_flag("--all", *all, "Every user's (admins)");
    c->add_option("--owner", *owner, "This user's (admins)");
    c->add_flag("--json", *as_json, "Print JSON");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        json args = json::object();
        if (*all) args["all"] = true;
        if (!owner->empty()) args["owner"] = *owner;
        const json r = g.client().call(cmd::schedule_list, args);
        if (*as_json)
          print_json(render::envelope("schedules", r["schedules"]));
        else
          schedule_table(std::cout, r["schedules"], *all || !owner->empty());
        return exit_code::ok;
      };
    });
  }
  {
    auto* c = sched->add_subcommand(
        "show", "Show a schedule: its definition, next five slots and recent slots' outcomes");
    auto name = std::make_shared<std::string>();
    auto owner = std::make_shared<std::string>();
    auto slots = std::make_shared<int>(20);
    auto as_json = std::make_shared<bool>(false);
    c->add_option("name", *name, "Schedule name")->required();
    c->add_option("--owner", *owner, "Whose schedule (admins: another user's)");
    c->add_option("--slots", *slots, "How many recent slots (0-1000; default 20)")
        ->check(CLI::Range(0, 1000));
    c->add_flag("--json", *as_json, "Print JSON");
    c->callback([=, &g, &action] {
      action = [=, &g] {
        json args{{"name", *name}, {"slots", *slots}};
        if (!owner->empty()) args["owner"] = *owner;
        print_schedule(g.client().call(cmd::schedule_show, args), *as_json);
        return exit_code::ok;
      };
    });
  }
  struct Simple {
    const char* name;
    const char* help;
    const char* command;
    const char* done;
  };
  for (const Simple& s : {
           Simple{"pause", "Pause a schedule: no slot fires until it is resumed",
                  cmd::schedule_pause, "paused"},
           Simple{"resume",
                  "Resume a schedule; the slots that passed meanwhile follow its --catch-up",
                  cmd::schedule_resume, "resumed"},
           Simple{"delete", "Delete a schedule (its jobs stay)", cmd::schedule_delete, "deleted"},
           Simple{"run", "Enqueue a schedule's job now, as an extra slot", cmd::schedule_run, ""},
       }) {
    auto* c = sched->add_subcommand(s.name, s.help);
    auto name = std::make_shared<std::string>();
    auto owner = std::make_shared<std::string>();
    auto as_json = std::make_shared<bool>(false);
    c->add_option("name", *name, "Schedule name")->required();
    c->add_option("--owner", *owner, "Whose schedule (admins: another user's)");
    c->add_flag("--json", *as_json, "Print the result as JSON");
    const Simple what = s;
    c->callback([=, &g, &action] {
      action = [=, &g] {
        json args{{"name", *name}};
        if (!owner->empty()) args["owner"] = *owner;
        const json r = g.client().call(what.command, args);
        const bool run = std::string(what.name) == "run";
        if (*as_json)
          print_json(render::envelope(run ? "job" : "schedule", r));
        else if (run)
          std::cout << "job " << r["id"].get<std::int64_t>() << " enqueued in "
                    << render::visible(r.value("app", "")) << '\n';
        else
          std::cout << "schedule " << render::visible(*name) << ' ' << what.done << '\n';
        return exit_code::ok;
      };
    });
  }
}

}  // namespace jobq
