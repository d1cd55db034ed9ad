// Subcommand registry of the `tandem` executable. Each cli/<command>.cpp defines one subcommand
// and registers it with a static Registrar, so adding a command touches no shared file.
// A command receives the CLI11 subcommand to declare its flags on, and returns a runner.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace tandem::cli {

struct Command {
  std::string name;
  std::string help;
  // Declares flags on sub; returns the function main calls when sub was chosen (exit code).
  std::function<std::function<int()>(CLI::App& sub)> setup;
};

std::vector<Command>& commands();

struct Registrar {
  explicit Registrar(Command c) { commands().push_back(std::move(c)); }
};

}  // namespace tandem::cli
