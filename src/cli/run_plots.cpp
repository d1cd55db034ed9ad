// `tandem plot`'s charts: one per metric of a run's metrics.jsonl (see run_plots.h).
#include "cli/run_plots.h"

#include <algorithm>
#include <fstream>
#include <map>

#include "cli/charts.h"
#include "core/error.h"
#include "core/file.h"
#include "core/json.h"

namespace tandem::cli {

std::vector<std::string> plot_run_metrics(const std::string& run_dir, const std::string& out_dir,
                                          const std::vector<std::string>& only) {
  const std::string metrics = join_path(run_dir, "metrics.jsonl");
  std::ifstream in(metrics);
  if (!in) throw Error("plot", cat("cannot open '", metrics, "' (is '", run_dir, "' a run folder?)"));
  std::map<std::string, std::vector<std::pair<double, double>>> series;  // metric -> (step, value)
  std::string line;
  int64_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    const Json j = parse_json(line, cat(metrics, ":", lineno), "plot");
    if (!j.contains("step") || !j["step"].is_number()) throw Error("plot", cat(metrics, ":", lineno, ": step: missing"));
    const double step = j["step"].get<double>();
    for (auto it = j.begin(); it != j.end(); ++it) {
      if (it.key() == "step" || !it->is_number()) continue;
      if (!only.empty() && std::find(only.begin(), only.end(), it.key()) == only.end()) continue;
      series[it.key()].emplace_back(step, it->get<double>());
    }
  }
  if (series.empty()) throw Error("plot", cat(metrics, " holds no metrics to chart"));
  std::vector<Chart> charts;
  std::vector<std::string> written;
  for (const auto& [name, pts] : series) {
    const std::string safe = chart_file_name(name);  // metric names like rewards/chosen are not file names
    Chart c;
    c.png = join_path(out_dir, safe + ".png");
    c.title = safe;
    c.series = {{"", pts}};
    charts.push_back(std::move(c));
    written.push_back(charts.back().png);
  }
  draw_charts(charts, out_dir);
  return written;
}

}  // namespace tandem::cli
