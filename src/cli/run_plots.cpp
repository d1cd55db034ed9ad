#include "cli/run_plots.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <map>

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
  make_directories(out_dir);
  std::string script = "set terminal pngcairo size 900,500 font ',10'\nset grid\nset key off\nset xlabel 'step'\n";
  std::vector<std::string> written;
  for (const auto& [name, pts] : series) {
    std::string safe = name;  // metric names like rewards/chosen are not file names
    for (char& c : safe)
      if (c == '/' || c == ' ' || c == '\'') c = '_';
    const std::string data = join_path(out_dir, safe + ".dat");
    std::string text;
    for (auto [x, y] : pts) text += cat(x, " ", y, "\n");
    write_file_atomic(data, text);
    const std::string png = join_path(out_dir, safe + ".png");
    script += cat("set output '", png, "'\nset title '", safe, "' noenhanced\nplot '", data,
                  "' using 1:2 with linespoints pt 7 ps 0.4 lw 1.5\n");
    written.push_back(png);
  }
  const std::string script_path = join_path(out_dir, "plots.gp");
  write_file_atomic(script_path, script);
  const int rc = std::system(cat("gnuplot '", script_path, "' 2>/dev/null").c_str());
  if (rc != 0)
    throw Error("plot", cat("gnuplot failed on ", script_path, " (is gnuplot-nox installed? scripts/setup.sh installs it)"));
  return written;
}

}  // namespace tandem::cli
