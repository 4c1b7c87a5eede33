#include "command_line.hpp"

#include <cctype>
#include <iostream>
#include <string_view>

#include "base/suggest.hpp"
#include "exit_codes.hpp"

namespace jobq {

namespace {

bool visible(const CLI::App* sub) {
  return !sub->get_name().empty() && !sub->get_group().empty();
}

std::vector<std::string> visible_subcommands(CLI::App* cmd) {
  std::vector<std::string> names;
  for (const auto* sub : cmd->get_subcommands({}))
    if (visible(sub)) names.push_back(sub->get_name());
  return names;
}

CLI::App* find_subcommand(CLI::App* cmd, const std::string& word) {
  for (CLI::App* sub : cmd->get_subcommands({}))
    if (!sub->get_name().empty() && sub->check_name(word)) return sub;
  return nullptr;
}

// The option `word` ("--env", "-q") of cmd or of a command above it.
CLI::Option* find_option(CLI::App* cmd, const std::string& word) {
  const bool is_long = word.rfind("--", 0) == 0;
  const std::string name = word.substr(is_long ? 2 : 1);
  for (CLI::App* a = cmd; a != nullptr; a = a->get_parent())
    for (CLI::Option* opt : a->get_options({}))
      if (is_long ? opt->check_lname(name) : opt->check_sname(name)) return opt;
  return nullptr;
}

// How many positional words come before cmd's `command` positional, or -1
// when it has none (so nothing is the rest of the line).
int words_before_command(CLI::App* cmd) {
  int before = 0;
  for (const CLI::Option* opt : cmd->get_options({})) {
    if (!opt->get_positional()) continue;
    if (opt->get_single_name() == "command") return before;
    before += opt->get_items_expected_max();
  }
  return -1;
}

std::string hint(const CLI::App* cmd) {
  return " (see '" + command_path(cmd) + " --help')";
}

std::string lower_first(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

// "; did you mean '--state'?" for the first unknown option among CLI11's extras.
std::string option_suggestion(CLI::App* cmd, const std::string& message) {
  std::vector<std::string> names;
  for (CLI::App* a = cmd; a != nullptr; a = a->get_parent())
    for (const CLI::Option* opt : a->get_options({}))
      for (const auto& l : opt->get_lnames()) names.push_back("--" + l);
  std::size_t pos = 0;
  while ((pos = message.find("--", pos)) != std::string::npos) {
    const std::size_t end = message.find_first_of(" =", pos);
    const std::string word = message.substr(pos, end == std::string::npos ? end : end - pos);
    if (const std::string best = nearest_name(word, names); !best.empty())
      return "; did you mean '" + best + "'?";
    pos += 2;
  }
  return "";
}

}  // namespace

std::string command_path(const CLI::App* cmd) {
  std::string path;
  for (; cmd != nullptr; cmd = cmd->get_parent())
    path = (cmd->get_parent() == nullptr ? std::string("jobq") : cmd->get_name()) +
           (path.empty() ? "" : " " + path);
  return path;
}

CommandLine read_command_words(CLI::App& root, int argc, char** argv) {
  CommandLine out;
  out.command = &root;
  out.args.assign(argv + 1, argv + argc);
  int positionals = 0;
  for (std::size_t i = 0; i < out.args.size(); ++i) {
    const std::string& word = out.args[i];
    if (word == "--") break;
    if (word.size() > 1 && word[0] == '-') {
      const CLI::Option* opt = find_option(out.command, word);
      if (opt != nullptr && opt->get_items_expected_max() > 0 &&
          word.find('=') == std::string::npos)
        ++i;  // its value
      continue;
    }
    if (CLI::App* sub = find_subcommand(out.command, word)) {
      out.command = sub;
      positionals = 0;
      continue;
    }
    const auto subs = visible_subcommands(out.command);
    if (!subs.empty()) {
      out.error = "unknown command '" + word + "'";
      if (const std::string best = nearest_name(word, subs); !best.empty())
        out.error += "; did you mean '" + best + "'?";
      out.error += hint(out.command);
      return out;
    }
    if (words_before_command(out.command) == positionals) {
      out.args.insert(out.args.begin() + static_cast<std::ptrdiff_t>(i), "--");
      break;
    }
    ++positionals;
  }
  return out;
}

int report_parse_error(CLI::App& root, CLI::App* command, const CLI::ParseError& e) {
  if (e.get_exit_code() == 0) return root.exit(e);  // --help, --version
  const auto subs = visible_subcommands(command);
  if (!subs.empty() && dynamic_cast<const CLI::RequiredError*>(&e) != nullptr) {
    const CLI::App* parent = command->get_parent();
    std::cerr << command->help(parent != nullptr ? command_path(parent) : "") << "jobq: error: '"
              << command_path(command) << "' needs a command: ";
    for (std::size_t i = 0; i < subs.size(); ++i) std::cerr << (i ? ", " : "") << subs[i];
    std::cerr << hint(command) << '\n';
    return exit_code::usage;
  }
  std::string message = e.what(), suggestion;
  if (dynamic_cast<const CLI::ExtrasError*>(&e) != nullptr) {
    // CLI11 lists them last first: say them as they were typed.
    const auto extras = command->remaining();
    if (!extras.empty()) {
      message = extras.size() > 1 ? "the following arguments were not expected:"
                                  : "the following argument was not expected:";
      for (const auto& word : extras) message += " " + word;
    }
    suggestion = option_suggestion(command, message);
  }
  std::cerr << "jobq: error: " << (command == &root ? "" : command_path(command).substr(5) + ": ")
            << lower_first(message) << suggestion << hint(command) << '\n';
  return exit_code::usage;
}

}  // namespace jobq
