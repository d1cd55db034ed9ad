// PNG charts drawn by gnuplot (Debian's gnuplot-nox, pngcairo terminal): line charts of one or more
// series over a shared x axis, and grouped bar charts. Used by `tandem plot` (one chart per metric
// of a run) and `tandem demo`'s report (stages side by side, accuracy per model).
// Not here: reading metrics files or choosing what to chart.
#pragma once
#include <string>
#include <utility>
#include <vector>

namespace tandem::cli {

struct ChartSeries {
  std::string label;                              // legend entry ("" with one series: no legend)
  std::vector<std::pair<double, double>> points;  // (x, y)
};

struct Chart {
  std::string png;  // output path
  std::string title, xlabel = "step", ylabel;
  std::vector<ChartSeries> series;
  // Bar chart: one group of bars per category; series[s].points[c].second is the bar of series s
  // in category c (x is ignored). Empty: a line chart.
  std::vector<std::string> categories;
  double ymin = 0, ymax = 0;  // fixed y range when ymax > ymin
};

// Draws every chart with one gnuplot run. Each chart's data sit beside its PNG (x.png: x.dat, or
// x-1.dat, x-2.dat, ... for several series) and the script goes to work_dir/charts.gp, all kept so a
// user can restyle a chart. Error when gnuplot is missing or fails.
void draw_charts(const std::vector<Chart>& charts, const std::string& work_dir);

// A file name made of name: characters that cannot be in one ('/', spaces, quotes) become '_'.
std::string chart_file_name(const std::string& name);

}  // namespace tandem::cli
