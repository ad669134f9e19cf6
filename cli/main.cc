// minyi: one executable, many subcommands. See command.h for the conventions.
#include <unistd.h>

#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "cli/command.h"
#include "cli/config.h"
#include "cli/logging.h"
#include "cli/progress.h"
#include "cli/version.h"

namespace minyi::cli {
namespace {

void PrintGlobalHelp(std::ostream& out) {
  out << "minyi " << kVersion << " — public-satisfaction surveys: collect responses, compute indices\n\n"
      << "Usage: minyi [--config FILE] [-D key=value]... [--no-progress] COMMAND [options] [args]\n\n"
      << "Global options:\n"
      << "  --config FILE     configuration file (.properties, .ini or .json); default $MINYI_CONFIG\n"
      << "  -D key=value      override one configuration key (repeatable); see `minyi config`\n"
      << "  --no-progress     no progress line on the terminal nor periodic progress log lines (the long\n"
      << "                    commands still log a summary at the end)\n"
      << "  -h, --help        this help; `minyi COMMAND --help` for a command\n"
      << "  --version         print the version\n\n"
      << "Commands:\n";
  for (const auto& cmd : Commands()) {
    std::string name = cmd.path;
    name.resize(std::max<std::size_t>(name.size(), 20), ' ');
    out << "  " << name << "  " << cmd.summary << "\n";
  }
  out << "\nExit codes: 0 ok, 1 failure, 2 usage error, 3 done but some input rejected (reported).\n";
}

void PrintCommandHelp(const CommandSpec& cmd, std::ostream& out) {
  out << "Usage: minyi " << cmd.path << (cmd.options.empty() ? "" : " [options]")
      << (cmd.positionals.empty() ? "" : " " + cmd.positionals) << "\n\n"
      << cmd.summary << "\n";
  if (!cmd.details.empty()) out << "\n" << cmd.details << "\n";
  if (!cmd.options.empty()) {
    out << "\nOptions:\n";
    for (const auto& o : cmd.options) {
      std::string left = o.name + (o.value_name.empty() ? "" : " " + o.value_name);
      left.resize(std::max<std::size_t>(left.size(), 22), ' ');
      out << "  " << left << "  " << o.help << (o.repeatable ? " (repeatable)" : "") << "\n";
    }
  }
}

int Usage(const std::string& message, const CommandSpec* cmd) {
  std::cerr << "minyi: " << message << "\n";
  if (cmd != nullptr) {
    std::cerr << "Try `minyi " << cmd->path << " --help`.\n";
  } else {
    std::cerr << "Try `minyi --help`.\n";
  }
  return kExitUsage;
}

bool SplitAssignment(const std::string& text, std::pair<std::string, std::string>& out) {
  auto eq = text.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  out = {text.substr(0, eq), text.substr(eq + 1)};
  return true;
}

// The running executable's path (Linux), which tells an installed binary where its data is.
std::string SelfExecutable() {
  std::string path(4096, '\0');
  const ssize_t n = ::readlink("/proc/self/exe", path.data(), path.size());
  path.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
  return path;
}

int Main(int argc, char** argv) {
  std::vector<std::string> tokens(argv + 1, argv + argc);
  ConfigSources sources;
  sources.executable = SelfExecutable();
  sources.checkout_dir = MINYI_SOURCE_DIR;
  std::size_t i = 0;
  // Global options come before the command.
  for (; i < tokens.size(); ++i) {
    const std::string& t = tokens[i];
    if (t == "-h" || t == "--help") {
      PrintGlobalHelp(std::cout);
      return kExitOk;
    }
    if (t == "--version") {
      std::cout << "minyi " << kVersion << "\n";
      return kExitOk;
    }
    if (t == "--no-progress") {
      SetProgressShown(false);
      continue;
    }
    if (t == "--config" || t.rfind("--config=", 0) == 0) {
      if (t == "--config") {
        if (++i == tokens.size()) return Usage("--config needs a FILE", nullptr);
        sources.file = tokens[i];
      } else {
        sources.file = t.substr(9);
      }
      continue;
    }
    if (t == "-D" || (t.rfind("-D", 0) == 0 && t.size() > 2)) {
      std::string assignment = t.size() > 2 ? t.substr(2) : (++i < tokens.size() ? tokens[i] : "");
      std::pair<std::string, std::string> kv;
      if (!SplitAssignment(assignment, kv)) return Usage("-D needs key=value, got '" + assignment + "'", nullptr);
      sources.overrides.push_back(kv);
      continue;
    }
    if (!t.empty() && t[0] == '-') return Usage("unknown global option " + t, nullptr);
    break;
  }
  if (i == tokens.size()) {
    PrintGlobalHelp(std::cerr);
    return kExitUsage;
  }

  // The longest command path that matches the next tokens ("db migrate" before "db").
  const CommandSpec* cmd = nullptr;
  std::size_t cmd_words = 0;
  for (const auto& spec : Commands()) {
    std::istringstream words(spec.path);
    std::string word;
    std::size_t n = 0;
    bool match = true;
    while (words >> word) {
      if (i + n >= tokens.size() || tokens[i + n] != word) {
        match = false;
        break;
      }
      ++n;
    }
    if (match && n > cmd_words) {
      cmd = &spec;
      cmd_words = n;
    }
  }
  if (cmd == nullptr) {
    // A group name alone ("minyi db"): list its commands.
    std::string group = tokens[i];
    bool any = false;
    for (const auto& spec : Commands()) {
      if (spec.path.rfind(group + " ", 0) == 0) {
        if (!any) std::cerr << "minyi " << group << ": choose a command:\n";
        std::cerr << "  minyi " << spec.path << "  — " << spec.summary << "\n";
        any = true;
      }
    }
    if (any) return kExitUsage;
    return Usage("unknown command '" + group + "'", nullptr);
  }
  i += cmd_words;

  Args args;
  for (; i < tokens.size(); ++i) {
    std::string t = tokens[i];
    if (t == "-h" || t == "--help") {
      PrintCommandHelp(*cmd, std::cout);
      return kExitOk;
    }
    if (t == "--") {
      for (++i; i < tokens.size(); ++i) args.positionals.push_back(tokens[i]);
      break;
    }
    if (t.size() > 1 && t[0] == '-') {
      std::string name = t;
      std::optional<std::string> inline_value;
      if (auto eq = t.find('='); eq != std::string::npos) {
        name = t.substr(0, eq);
        inline_value = t.substr(eq + 1);
      }
      const OptionSpec* spec = nullptr;
      for (const auto& o : cmd->options) {
        if (o.name == name) spec = &o;
      }
      if (spec == nullptr) return Usage("unknown option " + name + " for `" + cmd->path + "`", cmd);
      std::string value;
      if (!spec->value_name.empty()) {
        if (inline_value) {
          value = *inline_value;
        } else if (i + 1 < tokens.size()) {
          value = tokens[++i];
        } else {
          return Usage(name + " needs a value (" + spec->value_name + ")", cmd);
        }
      } else if (inline_value) {
        return Usage(name + " takes no value", cmd);
      }
      if (!spec->repeatable && args.Has(name)) return Usage(name + " given twice", cmd);
      args.options[name].push_back(value);
      continue;
    }
    args.positionals.push_back(t);
  }
  if (args.positionals.size() < cmd->min_positionals) {
    return Usage("`" + cmd->path + "` needs " + cmd->positionals, cmd);
  }
  if (args.positionals.size() > cmd->max_positionals) {
    return Usage("too many arguments for `" + cmd->path + "`", cmd);
  }

  auto config = LoadConfig(sources);
  if (!config.ok()) return Usage(config.status().message(), nullptr);
  if (Status s = SetupLogging(config->log); !s.ok()) return Usage(s.message(), nullptr);
  Context context(std::move(config).value());
  return cmd->run(context, args);
}

}  // namespace
}  // namespace minyi::cli

int main(int argc, char** argv) {
  try {
    return minyi::cli::Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "minyi: internal error: " << e.what() << "\n";
    return minyi::cli::kExitFailure;
  }
}
