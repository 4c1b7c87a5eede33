#include "complete.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <memory>
#include <string_view>
#include <utility>

#include "base/paths.hpp"
#include "model/job_state.hpp"
#include "wire/client.hpp"
#include "wire/commands.hpp"

namespace jobq {

using nlohmann::json;

namespace {

enum class ValueKind {
  none,      // free text: nothing to offer
  app,       // an application's name
  job,       // a job id
  job_list,  // job ids, comma-separated: completes after the last comma
  schedule,  // one of the caller's schedules
  file,      // a file's path: left to the shell (the ":files" directive)
  message,   // --message: a file's path after '@', else nothing
};

// What the value of an option or positional names, by the option's name
// ("--app") or the positional's ("id") under a command path. Looked up as
// "<path> <name>" from the whole path down to the bare name, the first hit
// wins: "app name" is the positional `name` of every `app` subcommand.
// A new command taking a job id or an application needs one line here,
// or none when its positional is called `id`, `ids` or `app`.
constexpr std::array<std::pair<std::string_view, ValueKind>, 16> kValueKinds{{
    {"app create name", ValueKind::none},  // a new application: nothing to offer
    {"app name", ValueKind::app},          // app show|update|delete|pause|resume NAME
    {"schedule create name", ValueKind::none},
    {"schedule name", ValueKind::schedule},  // schedule show|update|...|run NAME
    {"--schedule", ValueKind::schedule},     // list, stats
    {"--after-schedule", ValueKind::schedule},
    {"--owner", ValueKind::none},
    {"app", ValueKind::app},    // enqueue APP
    {"--app", ValueKind::app},  // list --app
    {"id", ValueKind::job},     // show, logs, cancel, hold, release, retry
    {"ids", ValueKind::job},    // wait
    {"--after", ValueKind::job_list},
    {"--after-any", ValueKind::job_list},
    {"--batch", ValueKind::file},
    {"--socket", ValueKind::file},
    {"--message", ValueKind::message},
}};

constexpr std::string_view kFilesDirective = ":files";

constexpr auto kDaemonTimeout = std::chrono::milliseconds(300);
constexpr int kRecentJobs = 200;

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

bool hidden(const CLI::App* sub) {
  return sub->get_name().empty() || sub->get_group().empty();
}
bool hidden(const CLI::Option* opt) {
  return opt->get_group().empty();
}
bool takes_value(const CLI::Option* opt) {
  return opt->get_items_expected_max() > 0;
}

// "--app" for an option (its first long name, else its short one), "id" for a positional.
std::string key_name(const CLI::Option* opt) {
  if (!opt->get_lnames().empty()) return "--" + opt->get_lnames().front();
  if (!opt->get_snames().empty()) return "-" + opt->get_snames().front();
  return opt->get_single_name();
}

ValueKind kind_of(const std::vector<std::string>& path, const std::string& name) {
  for (std::size_t n = path.size() + 1; n-- > 0;) {
    std::string key;
    for (std::size_t i = 0; i < n; ++i) key += path[i] + ' ';
    key += name;
    for (const auto& [k, kind] : kValueKinds)
      if (k == key) return kind;
  }
  return ValueKind::none;
}

// The words of a CLI::IsMember check, whose description reads "{a,b,c}".
std::vector<std::string> member_words(CLI::Option* opt) {
  std::vector<std::string> out;
  for (int i = 0;; ++i) {
    CLI::Validator* v = nullptr;
    try {
      v = opt->get_validator(i);
    } catch (const CLI::OptionNotFound&) {
      break;
    }
    const std::string d = v->get_description();
    if (d.size() < 2 || d.front() != '{' || d.back() != '}') continue;
    std::string word;
    for (const char c : d.substr(1, d.size() - 2)) {
      if (c == ',') {
        out.push_back(word);
        word.clear();
      } else {
        word += c;
      }
    }
    out.push_back(word);
  }
  return out;
}

// An option of `cmd` or of a command above it (--socket belongs to the root).
CLI::Option* find_option(CLI::App* cmd, const std::string& word) {
  const bool is_long = starts_with(word, "--");
  const std::string name = word.substr(is_long ? 2 : 1);
  for (CLI::App* a = cmd; a != nullptr; a = a->get_parent())
    for (CLI::Option* opt : a->get_options({}))
      if (is_long ? opt->check_lname(name) : opt->check_sname(name)) return opt;
  return nullptr;
}

CLI::App* find_subcommand(CLI::App* cmd, const std::string& word) {
  for (CLI::App* sub : cmd->get_subcommands({}))
    if (!sub->get_name().empty() && sub->check_name(word)) return sub;
  return nullptr;
}

// The positional that takes the n-th (from 0) positional word given to cmd.
CLI::Option* positional_at(CLI::App* cmd, std::size_t n) {
  for (CLI::Option* opt : cmd->get_options({})) {
    if (!opt->get_positional()) continue;
    const auto room = static_cast<std::size_t>(std::max(0, opt->get_items_expected_max()));
    if (n < room) return opt;
    n -= room;
  }
  return nullptr;
}

class Completer {
 public:
  Completer(const CompletionSources& sources, std::string word)
      : sources_(sources), word_(std::move(word)) {}

  std::vector<Candidate> take() { return std::move(out_); }

  // The shell completes a file's path after `lead` (the part of the word
  // that is not the path: "--socket=", "@"): the one line ":files LEAD".
  void files(const std::string& lead) {
    out_ = {{std::string(kFilesDirective) + (lead.empty() ? "" : " " + lead), ""}};
  }

  void add(const std::string& value, const std::string& description = "") {
    if (value.empty() || !starts_with(value, word_)) return;
    for (const auto& c : out_)
      if (c.value == value) return;
    out_.push_back({value, description});
  }

  void subcommands(CLI::App* cmd) {
    for (CLI::App* sub : cmd->get_subcommands({}))
      if (!hidden(sub)) add(sub->get_name(), sub->get_description());
  }

  void options(CLI::App* cmd) {
    for (CLI::Option* opt : cmd->get_options({})) {
      if (opt->get_positional() || hidden(opt)) continue;
      for (const auto& l : opt->get_lnames()) add("--" + l, opt->get_description());
      if (starts_with(word_, "--")) continue;
      for (const auto& s : opt->get_snames()) add("-" + s, opt->get_description());
    }
  }

  // Values for `opt`, each written after `lead` ("--app=" for --app=VALUE).
  void values(CLI::Option* opt, const std::vector<std::string>& path, const std::string& socket,
              const std::string& lead = "") {
    std::string head = lead;
    std::vector<Candidate> found;
    switch (kind_of(path, key_name(opt))) {
      case ValueKind::none: {
        // --state failed,l: the words of a comma-separated list complete after its last comma.
        const auto comma = word_.rfind(',');
        if (opt->get_delimiter() == ',' && comma != std::string::npos && comma >= head.size())
          head = word_.substr(0, comma + 1);
        for (const auto& w : member_words(opt)) found.push_back({w, ""});
        break;
      }
      case ValueKind::app:
        if (sources_.apps) found = sources_.apps(socket);
        break;
      case ValueKind::schedule:
        if (sources_.schedules) found = sources_.schedules(socket);
        break;
      case ValueKind::job_list: {
        const auto comma = word_.rfind(',');
        if (comma != std::string::npos && comma >= head.size()) head = word_.substr(0, comma + 1);
        if (sources_.jobs) found = sources_.jobs(socket);
        break;
      }
      case ValueKind::job:
        if (sources_.jobs) found = sources_.jobs(socket);
        break;
      case ValueKind::file:
        files(head);
        return;
      case ValueKind::message:
        if (word_.size() > head.size() && word_[head.size()] == '@') files(head + "@");
        return;
    }
    for (const auto& c : found) add(head + c.value, c.description);
  }

 private:
  const CompletionSources& sources_;
  std::string word_;
  std::vector<Candidate> out_;
};

// A string field of a reply, "" when missing or not a string.
std::string text(const json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end() || !it->is_string()) return {};
  return it->get_ref<const std::string&>();
}

std::string one_line(std::string s) {
  for (char& c : s)
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  return s;
}

// Asks jobqd; any failure (not running, too slow, refused, odd reply) is no
// candidates, silently.
std::vector<Candidate> ask(const std::string& socket_option, const std::string& cmd,
                           const json& args,
                           const std::function<std::vector<Candidate>(const json&)>& read) {
  try {
    Client client(ConnectOptions{client_socket_paths(socket_option), {}, {}});  // never waits
    return read(client.call(cmd, args, kDaemonTimeout));
  } catch (...) {
    return {};
  }
}

}  // namespace

std::vector<Candidate> complete_words(CLI::App& root, const std::vector<std::string>& words,
                                      const CompletionSources& sources) {
  const std::string word = words.empty() ? std::string() : words.back();
  const std::size_t before = words.empty() ? 0 : words.size() - 1;

  CLI::App* cmd = &root;
  std::vector<std::string> path;   // subcommand names from the root down to cmd
  std::size_t positionals = 0;     // positional words given to cmd
  bool only_positionals = false;   // after "--"
  CLI::Option* pending = nullptr;  // an option whose value is the next word
  std::string socket;
  auto take_value = [&](CLI::Option* opt, const std::string& value) {
    if (opt->check_lname("socket")) socket = value;
  };

  for (std::size_t i = 0; i < before; ++i) {
    const std::string& w = words[i];
    if (pending != nullptr) {
      take_value(pending, w);
      pending = nullptr;
    } else if (only_positionals) {
      ++positionals;
    } else if (w == "--") {
      only_positionals = true;
    } else if (starts_with(w, "--")) {
      const auto eq = w.find('=');
      CLI::Option* opt = find_option(cmd, w.substr(0, eq));
      if (opt == nullptr || !takes_value(opt)) continue;
      if (eq == std::string::npos)
        pending = opt;
      else
        take_value(opt, w.substr(eq + 1));
    } else if (w.size() > 1 && w[0] == '-') {
      // -abc: flags, up to one that takes a value (the rest of the word, or the next).
      for (std::size_t j = 1; j < w.size(); ++j) {
        CLI::Option* opt = find_option(cmd, std::string("-") + w[j]);
        if (opt == nullptr || !takes_value(opt)) continue;
        if (j + 1 == w.size())
          pending = opt;
        else
          take_value(opt, w.substr(j + 1));
        break;
      }
    } else if (CLI::App* sub = find_subcommand(cmd, w)) {
      cmd = sub;
      path.push_back(sub->get_name());
      positionals = 0;
    } else {
      ++positionals;
    }
  }

  Completer out(sources, word);
  if (pending != nullptr) {
    out.values(pending, path, socket);
  } else if (!only_positionals && starts_with(word, "--") && word.find('=') != std::string::npos) {
    const std::string name = word.substr(0, word.find('='));
    if (CLI::Option* opt = find_option(cmd, name); opt != nullptr && takes_value(opt))
      out.values(opt, path, socket, name + "=");
  } else if (!only_positionals && starts_with(word, "-")) {
    out.options(cmd);
  } else {
    const auto subs = cmd->get_subcommands({});
    const bool subcommands_here =
        !only_positionals && positionals == 0 &&
        std::any_of(subs.begin(), subs.end(), [](const CLI::App* s) { return !hidden(s); });
    if (subcommands_here) out.subcommands(cmd);
    CLI::Option* positional = positional_at(cmd, positionals);
    if (positional != nullptr) out.values(positional, path, socket);
    // Nothing more to give this command but options: offer them.
    if (!subcommands_here && positional == nullptr && !only_positionals) out.options(cmd);
  }
  return out.take();
}

CompletionSources daemon_sources() {
  CompletionSources s;
  s.apps = [](const std::string& socket) {
    return ask(socket, cmd::app_list, json::object(), [](const json& r) {
      std::vector<Candidate> out;
      for (const auto& a : r.at("apps")) out.push_back({text(a, "name"), text(a, "image")});
      return out;
    });
  };
  s.schedules = [](const std::string& socket) {
    return ask(socket, cmd::schedule_list, json::object(), [](const json& r) {
      std::vector<Candidate> out;
      for (const auto& sc : r.at("schedules"))
        out.push_back({text(sc, "name"), text(sc, "cron") + " in " + text(sc, "app")});
      return out;
    });
  };
  s.jobs = [](const std::string& socket) {
    return ask(socket, cmd::list, json{{"limit", kRecentJobs}}, [](const json& r) {
      struct Row {
        std::int64_t id;
        bool unfinished;
        Candidate c;
      };
      std::vector<Row> rows;
      for (const auto& j : r.at("jobs")) {
        const std::string state = text(j, "state");
        const auto parsed = parse_job_state(state);
        const std::int64_t id = j.at("id").get<std::int64_t>();
        rows.push_back({id,
                        parsed && !is_final(*parsed),
                        {std::to_string(id), state + " in " + text(j, "app")}});
      }
      std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
        if (a.unfinished != b.unfinished) return a.unfinished;
        return a.id > b.id;
      });
      std::vector<Candidate> out;
      for (auto& row : rows) out.push_back(std::move(row.c));
      return out;
    });
  };
  return s;
}

void add_complete_command(CLI::App& root, std::function<int()>& action) {
  auto* c = root.add_subcommand("__complete", "Print completion candidates for a command line");
  c->group("");  // hidden from --help and from completion
  auto describe = std::make_shared<bool>(false);
  auto words = std::make_shared<std::vector<std::string>>();
  c->add_flag("--describe", *describe, "Follow each candidate with a tab and its description");
  c->add_option("words", *words,
                "The words after 'jobq', the last one under the cursor (after --)");
  c->callback([describe, words, &root, &action] {
    action = [describe, words, &root] {
      try {
        for (const auto& cand : complete_words(root, *words, daemon_sources())) {
          if (cand.value.find('\n') != std::string::npos) continue;
          std::cout << cand.value;
          if (*describe && !cand.description.empty())
            std::cout << '\t' << one_line(cand.description);
          std::cout << '\n';
        }
      } catch (...) {
        // Completion never fails loudly: no candidates is the answer.
      }
      std::cout.flush();
      return 0;
    };
  });
}

}  // namespace jobq
