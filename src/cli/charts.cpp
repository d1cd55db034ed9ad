// gnuplot charts (see charts.h).
#include "cli/charts.h"

#include <cstdlib>

#include "core/error.h"
#include "core/file.h"

namespace tandem::cli {

namespace {

// gnuplot single-quoted string: a quote is doubled.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string line_chart(const Chart& c, const std::string& stem) {
  std::string plot;
  for (size_t s = 0; s < c.series.size(); ++s) {
    const std::string data = c.series.size() == 1 ? stem + ".dat" : cat(stem, "-", s + 1, ".dat");
    std::string text;
    for (auto [x, y] : c.series[s].points) text += cat(x, " ", y, "\n");
    write_file_atomic(data, text);
    if (c.series[s].points.empty()) continue;
    const bool many = c.series[s].points.size() > 1;
    plot += cat(plot.empty() ? "plot " : ", ", quoted(data), " using 1:2 with ", many ? "linespoints pt 7 ps 0.5" : "points pt 7 ps 1.2",
                " lw 2 title ", quoted(c.series[s].label));
  }
  if (plot.empty()) plot = "plot NaN notitle";  // an empty chart still gets its axes and title
  return cat(c.series.size() > 1 ? "set key outside right top\n" : "set key off\n", plot, "\n");
}

std::string bar_chart(const Chart& c, const std::string& stem) {
  const std::string data = stem + ".dat";
  // In data files gnuplot groups a field with double quotes; the header is a comment.
  auto field = [](const std::string& s) {
    std::string out = "\"";
    for (char ch : s) out += ch == '"' ? '\'' : ch;
    return out + "\"";
  };
  std::string text = "# category";
  for (const auto& s : c.series) text += " " + field(s.label);
  text += "\n";
  for (size_t k = 0; k < c.categories.size(); ++k) {
    text += field(c.categories[k]);
    for (const auto& s : c.series) text += cat(" ", k < s.points.size() ? s.points[k].second : 0.0);
    text += "\n";
  }
  write_file_atomic(data, text);
  std::string plot = "set style data histograms\nset style histogram clustered gap 1\nset style fill solid 0.85 border -1\n"
                     "set boxwidth 0.9\nset key outside right top\nset xtics nomirror\n";
  for (size_t s = 0; s < c.series.size(); ++s)
    plot += cat(s == 0 ? "plot " : ", ", quoted(data), " using ", s + 2, s == 0 ? ":xtic(1)" : "", " title ", quoted(c.series[s].label));
  return plot + "\n";
}

// For the shell: single quotes, a quote inside written as '\''.
std::string shell_quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

}  // namespace

std::string chart_file_name(const std::string& name) {
  std::string safe = name;
  for (char& c : safe)
    if (c == '/' || c == ' ' || c == '\'' || c == '"' || c == '\\') c = '_';
  return safe;
}

void draw_charts(const std::vector<Chart>& charts, const std::string& work_dir) {
  if (charts.empty()) return;
  make_directories(work_dir);
  std::string script = "set terminal pngcairo size 900,500 font ',10'\n";
  for (size_t i = 0; i < charts.size(); ++i) {
    const Chart& c = charts[i];
    // The data sit beside the PNG under its name (loss.png: loss.dat, or loss-1.dat, loss-2.dat, ...).
    const std::string stem = c.png.size() > 4 && c.png.ends_with(".png") ? c.png.substr(0, c.png.size() - 4) : c.png;
    script += cat("reset\nset grid\nset output ", quoted(c.png), "\nset title ", quoted(c.title), " noenhanced\n",
                  "set xlabel ", quoted(c.xlabel), " noenhanced\nset ylabel ", quoted(c.ylabel), " noenhanced\n");
    script += c.ymax > c.ymin ? cat("set yrange [", c.ymin, ":", c.ymax, "]\n") : std::string("set autoscale y\n");
    script += c.categories.empty() ? line_chart(c, stem) : bar_chart(c, stem);
  }
  const std::string script_path = join_path(work_dir, "charts.gp");
  write_file_atomic(script_path, script);
  const int rc = std::system(cat("gnuplot ", shell_quoted(script_path), " 2>/dev/null").c_str());
  if (rc != 0)
    throw Error("plot", cat("gnuplot failed on ", script_path, " (is gnuplot-nox installed? scripts/setup.sh installs it)"));
}

}  // namespace tandem::cli
