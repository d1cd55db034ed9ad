// `tandem` entry point: global flags, subcommand dispatch, and the only place that catches
// tandem::Error (style.md): it prints the message and exits 1, never a stack trace.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <thread>

#include "cli/command.h"
#include "core/error.h"
#include "core/log.h"
#include "core/threads.h"
#include "dist/communicator.h"

namespace tandem::cli {
std::vector<Command>& commands() {
  static std::vector<Command> all;
  return all;
}
}  // namespace tandem::cli

int main(int argc, char** argv) {
  using namespace tandem;
  CLI::App app{"tandem: post-train language models (SFT, preference optimisation, RL) on one engine"};
  app.require_subcommand(1);
  int threads = 0;
  bool verbose = false;
  app.add_option("--threads", threads, "worker threads (default: OMP_NUM_THREADS or all cores)");
  app.add_flag("-v,--verbose", verbose, "debug logging");
  auto& cmds = cli::commands();
  std::sort(cmds.begin(), cmds.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  std::vector<std::pair<CLI::App*, std::function<int()>>> runners;
  for (auto& c : cmds) {
    CLI::App* sub = app.add_subcommand(c.name, c.help);
    runners.emplace_back(sub, c.setup(*sub));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (verbose) set_log_level(LogLevel::kDebug);
  // Under mpirun each rank gets its share of the machine's cores unless told otherwise, so ranks
  // on one machine do not oversubscribe it (OpenMP barriers stall badly when they do).
  if (threads <= 0 && !std::getenv("OMP_NUM_THREADS") && dist::world().size() > 1)
    threads = std::max(1, int(std::thread::hardware_concurrency()) / std::max(1, dist::world().local_size()));
  set_num_threads(threads);
  try {
    for (auto& [sub, run] : runners)
      if (sub->parsed()) return run();
  } catch (const Error& e) {
    std::fprintf(stderr, "tandem: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tandem: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
