// `tandem plot RUN_DIR`: one PNG chart per metric of RUN_DIR/metrics.jsonl (loss, lr, grad_norm,
// eval_loss, ...), drawn by gnuplot (Debian's gnuplot-nox, pngcairo terminal) into RUN_DIR/plots/.
#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include "cli/command.h"
#include "core/file.h"
#include "core/json.h"
#include "core/log.h"

namespace tandem::cli {
namespace {

struct Opts {
  std::string run_dir, out_dir;
};

int run(const Opts& o) {
  const std::string metrics = join_path(o.run_dir, "metrics.jsonl");
  std::ifstream in(metrics);
  if (!in) throw Error("plot", cat("cannot open '", metrics, "' (is '", o.run_dir, "' a run folder?)"));
  std::map<std::string, std::vector<std::pair<double, double>>> series;  // metric -> (step, value)
  std::string line;
  int64_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty()) continue;
    const Json j = parse_json(line, cat(metrics, ":", lineno), "plot");
    if (!j.contains("step") || !j["step"].is_number()) throw Error("plot", cat(metrics, ":", lineno, ": step: missing"));
    const double step = j["step"].get<double>();
    for (auto it = j.begin(); it != j.end(); ++it)
      if (it.key() != "step" && it->is_number()) series[it.key()].emplace_back(step, it->get<double>());
  }
  if (series.empty()) throw Error("plot", cat(metrics, " holds no metrics yet"));
  const std::string out = o.out_dir.empty() ? join_path(o.run_dir, "plots") : o.out_dir;
  make_directories(out);
  std::string script = "set terminal pngcairo size 900,500 font ',10'\nset grid\nset key off\nset xlabel 'step'\n";
  int n = 0;
  for (const auto& [name, pts] : series) {
    std::string safe = name;  // TRL metric names hold '/' (rewards/chosen): one file per metric, no subfolders
    for (char& c : safe)
      if (c == '/') c = '_';
    const std::string data = join_path(out, safe + ".dat");
    std::string text;
    for (auto [x, y] : pts) text += cat(x, " ", y, "\n");
    write_file_atomic(data, text);
    script += cat("set output '", join_path(out, safe + ".png"), "'\nset title '", name, "'\nplot '", data,
                  "' using 1:2 with linespoints pt 7 ps 0.4 lw 1.5\n");
    ++n;
  }
  const std::string script_path = join_path(out, "plots.gp");
  write_file_atomic(script_path, script);
  const int rc = std::system(cat("gnuplot '", script_path, "' 2>/dev/null").c_str());
  if (rc != 0) throw Error("plot", cat("gnuplot failed on ", script_path, " (is gnuplot-nox installed? scripts/setup.sh installs it)"));
  std::printf("wrote %d charts to %s\n", n, out.c_str());
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
