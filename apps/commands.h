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

struct Registrar {
  explicit Registrar(Command c) { commands().push_back(std::move(c)); }
};

}  // namespace covergan
