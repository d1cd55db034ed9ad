// Charts of a run's metrics.jsonl, drawn by gnuplot (Debian's gnuplot-nox, pngcairo terminal):
// one PNG per metric, shared by `tandem plot` and `tandem demo`'s report.
#pragma once
#include <string>
#include <vector>

namespace tandem::cli {

// Draws one chart per numeric metric of run_dir/metrics.jsonl into out_dir (only the metrics named
// in `only` when it is not empty). Returns the PNG paths written. Error when there are no metrics
// or gnuplot fails.
std::vector<std::string> plot_run_metrics(const std::string& run_dir, const std::string& out_dir,
                                          const std::vector<std::string>& only = {});

}  // namespace tandem::cli
