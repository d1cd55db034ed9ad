// `tandem plot RUN_DIR`: one PNG chart per metric of RUN_DIR/metrics.jsonl (loss, lr, grad_norm,
// eval_loss, ...) into RUN_DIR/plots/ (cli/run_plots.h).
#include <cstdio>

#include "cli/command.h"
#include "cli/run_plots.h"
#include "core/file.h"

namespace tandem::cli {
namespace {

struct Opts {
  std::string run_dir, out_dir;
};

int run(const Opts& o) {
  const std::string out = o.out_dir.empty() ? join_path(o.run_dir, "plots") : o.out_dir;
  const auto written = plot_run_metrics(o.run_dir, out);
  std::printf("wrote %zu charts to %s\n", written.size(), out.c_str());
  return 0;
}

Registrar reg({"plot", "draw the metrics of a run folder as PNG charts (gnuplot)", [](CLI::App& sub) {
                 auto o = std::make_shared<Opts>();
                 sub.add_option("run_dir", o->run_dir, "run folder holding metrics.jsonl")->required();
                 sub.add_option("--out", o->out_dir, "folder for the charts (default RUN_DIR/plots)");
                 return std::function<int()>([o] { return run(*o); });
               }});

}  // namespace
}  // namespace tandem::cli
