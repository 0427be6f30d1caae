// Subcommand registry: each apps/cmd_*.cpp defines a static Registrar naming its
// subcommand, a function that adds its options to the CLI11 subcommand (binding
// them to that file's own settings struct), and the function that runs it.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace covergan {

struct Command {
  std::string name, description;
  std::function<void(CLI::App&)> add_options;
  std::function<int()> run;
};

std::vector<Command>& commands();

// Checks for numeric flags that say what they want in words: CLI11's PositiveNumber and
// NonNegativeNumber name DBL_MAX (a 300-digit number) as their upper bound.
inline CLI::Validator number_at_least(double lo, bool strictly, const char* what) {
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        size_t used = 0;
        double v = 0;
        try {
          v = std::stod(text, &used);
        } catch (const std::exception&) {
          used = 0;
        }
        if (used == 0 || used != text.size()) return "must be a number, got '" + text + "'";
        if (strictly ? v > lo : v >= lo) return "";
        return std::string("must be ") + what + ", got " + text;
      },
      what);
}
inline CLI::Validator positive() { return number_at_least(0, true, "positive"); }
inline CLI::Validator non_negative() { return number_at_least(0, false, "0 or more"); }

struct Registrar {
  explicit Registrar(Command c) { commands().push_back(std::move(c)); }
};

}  // namespace covergan
