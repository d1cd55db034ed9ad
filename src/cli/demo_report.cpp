// The demo's report (see demo_report.h).
#include "cli/demo_report.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>

#include "cli/report_doc.h"
#include "core/error.h"
#include "core/file.h"
#include "core/json.h"

namespace tandem::cli {

namespace {

std::string pct(double x) { return cat(std::round(x * 1000.0) / 10.0, "%"); }

// Accuracy with the half-width of its 95% normal interval, in points: with 200 problems a model
// that answers 60% has about ±7, which tells a reader which differences mean something.
std::string pct_ci(const EvalResult& e) {
  if (e.n == 0) return "-";
  const double p = e.accuracy(), half = 1.96 * std::sqrt(std::max(p * (1 - p), 1e-12) / double(e.n));
  return cat(pct(p), " (±", std::round(half * 1000.0) / 10.0, ")");
}

std::string seconds(double s) { return s < 100 ? cat(std::round(s * 10.0) / 10.0, " s") : cat(std::lround(s), " s"); }

std::string points(double d) { return cat(d >= 0 ? "+" : "", std::round(d * 1000.0) / 10.0, " points"); }

// metric -> (step, value) of a run folder's metrics.jsonl.
std::map<std::string, std::vector<std::pair<double, double>>> read_metrics(const std::string& run_dir) {
  std::map<std::string, std::vector<std::pair<double, double>>> m;
  const std::string path = join_path(run_dir, "metrics.jsonl");
  std::ifstream in(path);
  std::string line;
  int64_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty()) continue;
    const Json j = parse_json(line, cat(path, ":", n), "demo.report");
    if (!j.contains("step")) continue;
    for (auto it = j.begin(); it != j.end(); ++it)
      if (it.key() != "step" && it->is_number()) m[it.key()].emplace_back(j["step"].get<double>(), it->get<double>());
  }
  return m;
}

// A completion for a table cell: one line, at most 60 characters.
std::string cell_text(const std::string& s) {
  std::string out;
  for (char c : s) out += c == '\n' ? ' ' : c;
  if (out.size() > 60) out = out.substr(0, 57) + "...";
  return out.empty() ? "(empty)" : out;
}

// The sentences of "What each stage changed", from the measured numbers only.
std::vector<std::string> findings(const DemoReport& r) {
  std::vector<std::string> out;
  const auto& m = r.models;
  if (m.size() < 4) return out;
  const DemoModelResult &base = m[0], &sft = m[1], &rl = m[2], &hy = m[3];
  const std::string in_set = cat("held-out problems with ", r.plan.task.train.text(), " numbers");
  out.push_back(cat("**SFT** (", r.stages[0].summary, ") took the random model from ", pct(base.in.accuracy()), " to ",
                    pct(sft.in.accuracy()), " on ", in_set, " (", points(sft.in.accuracy() - base.in.accuracy()), "); ",
                    pct(sft.in.well_formed_share()), " of its answers have the shape of a worked solution (",
                    pct(base.in.well_formed_share()), " before)."));
  // Whether SFT had stopped improving: its last checkpoint interval, from the measured curve.
  if (!r.stage_curves.empty() && r.stage_curves[0].size() >= 2) {
    const auto& c = r.stage_curves[0];
    const double last_gain = c.back().second - c[c.size() - 2].second;
    // The points are the checkpoints at save_steps, 2 save_steps, ... and the final model.
    const int64_t last_steps = r.stages[0].steps - r.stages[0].save_steps * int64_t(c.size() - 1);
    out.push_back(last_gain > 0.02
                      ? cat("SFT's held-out accuracy was still rising when the stage ended (", points(last_gain), " over its last ",
                            last_steps, " steps), so more SFT on the same demonstrations would likely have raised it further; what GRPO "
                            "adds below it adds without any demonstration.")
                      : cat("SFT had levelled off by the end of the stage (", points(last_gain),
                            " over its last checkpoint interval): more SFT on the same demonstrations would not have helped much."));
  }
  const double d_rl = rl.in.accuracy() - sft.in.accuracy();
  if (d_rl > 0)
    out.push_back(cat("**GRPO** (", r.stages[1].summary, ") raised it from ", pct(sft.in.accuracy()), " to ",
                      pct(rl.in.accuracy()), " (", points(d_rl),
                      ") with no further demonstrations: the model learned from its own samples, scored only by whether the "
                      "final number is the sum."));
  else
    out.push_back(cat("**GRPO** from the SFT model did not raise held-out accuracy in this run (", pct(sft.in.accuracy()), " to ",
                      pct(rl.in.accuracy()), ", ", points(d_rl), ")."));
  const double d_hy = hy.in.accuracy() - rl.in.accuracy();
  out.push_back(cat("**The hybrid** (", r.stages[2].summary, ") reached ", pct(hy.in.accuracy()), " from the same random start in ",
                    seconds(hy.train_seconds), " of training, against ", pct(rl.in.accuracy()), " for SFT then GRPO in ",
                    seconds(rl.train_seconds), " (", std::abs(d_hy) < 0.005 ? std::string("the same") : points(d_hy), ")",
                    hy.in.accuracy() > sft.in.accuracy() ? cat(", and above SFT alone (", pct(sft.in.accuracy()), ").")
                                                         : cat(", not above SFT alone (", pct(sft.in.accuracy()), ").")));
  // Why a hybrid from a random start lags or not: how long its own samples earned nothing.
  if (r.stages.size() >= 3) {
    const auto m = read_metrics(r.stages[2].run_dir);
    auto it = m.find("accuracy");
    if (it != m.end() && !it->second.empty()) {
      // The first step from which its sampled answers were right 5% of the time over ten steps (one
      // lucky sample of a small batch is not learning).
      const auto& a = it->second;
      double first = -1;
      for (size_t i = 0; i + 10 <= a.size() && first < 0; ++i) {
        double mean = 0;
        for (size_t k = i; k < i + 10; ++k) mean += a[k].second / 10.0;
        if (mean >= 0.05) first = a[i].first;
      }
      const double total = it->second.back().first;
      if (first < 0 || first > 0.3 * total)
        out.push_back(cat("The hybrid's own answers earned almost nothing for ",
                          first < 0 ? cat("all ", int64_t(total)) : cat("its first ", int64_t(first) - 1, " of ", int64_t(total)),
                          " steps (under 5% of its samples right over any ten), so until then only its SFT term, at weight mu, taught it while "
                          "the sampling cost compute. From a random start, imitating first and exploring after spends the same "
                          "compute better; the hybrid's place is a model that already solves some problems."));
    }
  }
  double best_ood = 0;
  for (const auto& x : m) best_ood = std::max(best_ood, x.ood.accuracy());
  out.push_back(cat("**Longer numbers** (", r.plan.task.ood.text(), "s, never seen in training): ",
                    best_ood < 0.05 ? "no model generalises to them (best " + pct(best_ood) +
                                          "); a model this small learns the lengths it was shown, which is what this column is here to show."
                                    : cat("the best model answers ", pct(best_ood), ".")));
  return out;
}

std::vector<Chart> stage_charts(const DemoReport& r, std::vector<std::pair<std::string, std::string>>& shown) {
  struct Metric {
    const char* key;
    const char* title;
    const char* ylabel;
  };
  const Metric metrics[] = {{"loss", "Training loss", "loss"},
                            {"reward", "Mean reward of the sampled answers", "reward"},
                            {"accuracy", "Share of sampled answers that are right (training prompts)", "accuracy"},
                            {"completions/mean_length", "Mean length of the sampled answers", "tokens"},
                            {"kl_ref", "KL to the starting model (k3, token mean)", "KL"}};
  std::vector<std::map<std::string, std::vector<std::pair<double, double>>>> per_stage;
  for (const auto& s : r.stages) per_stage.push_back(read_metrics(s.run_dir));
  std::vector<Chart> charts;
  for (const Metric& mt : metrics) {
    Chart c;
    c.png = join_path(r.paths.charts, "stage_" + chart_file_name(mt.key) + ".png");
    c.title = mt.title;
    c.xlabel = "step of the stage";
    c.ylabel = mt.ylabel;
    for (size_t i = 0; i < r.stages.size(); ++i) {
      auto it = per_stage[i].find(mt.key);
      if (it != per_stage[i].end()) c.series.push_back({r.stages[i].key + " " + r.stages[i].command, it->second});
    }
    if (c.series.empty()) continue;
    shown.emplace_back(mt.title, "charts/stage_" + chart_file_name(mt.key) + ".png");
    charts.push_back(std::move(c));
  }
  return charts;
}

void write_samples(const DemoReport& r) {
  std::string text;
  for (const auto& m : r.models)
    for (const auto* set : {&m.in, &m.ood})
      for (const auto& a : set->answers)
        text += Json{{"model", m.label},
                     {"set", set == &m.in ? "in_distribution" : "longer_numbers"},
                     {"question", a.question},
                     {"expected", a.expected},
                     {"completion", a.completion},
                     {"correct", a.correct}}
                    .dump() +
                "\n";
  write_file_atomic(join_path(r.paths.out, "samples.jsonl"), text);
}

}  // namespace

void write_demo_report(const DemoReport& r) {
  make_directories(r.paths.charts);
  const auto& plan = r.plan;
  // Charts first: the document only links the ones that exist.
  std::vector<Chart> charts;
  Chart acc;
  acc.png = join_path(r.paths.charts, "accuracy.png");
  acc.title = "Held-out accuracy (greedy answers)";
  acc.xlabel = "";
  acc.ylabel = "share of answers right";
  acc.ymax = 1;
  for (const auto& m : r.models) acc.categories.push_back(m.label);
  acc.series = {{plan.task.train.text() + "s (as trained)", {}}, {plan.task.ood.text() + "s (longer)", {}}};
  for (const auto& m : r.models) {
    acc.series[0].points.emplace_back(0, m.in.accuracy());
    acc.series[1].points.emplace_back(0, m.ood.accuracy());
  }
  charts.push_back(acc);
  Chart curve;
  curve.png = join_path(r.paths.charts, "heldout_over_training.png");
  curve.title = "Held-out accuracy over training time (greedy, in distribution)";
  curve.xlabel = "training seconds";
  curve.ylabel = "share of answers right";
  const std::pair<double, double> start{0.0, r.models.empty() ? 0.0 : r.models[0].in.accuracy()};
  ChartSeries two_stage{"SFT then GRPO", {start}}, hybrid{"Hybrid (CHORD)", {start}};
  for (size_t i = 0; i < r.stage_curves.size(); ++i)
    for (const auto& p : r.stage_curves[i]) (i < 2 ? two_stage : hybrid).points.push_back(p);
  curve.series = {two_stage, hybrid};
  curve.ymax = 1;
  charts.push_back(curve);
  std::vector<std::pair<std::string, std::string>> stage_pngs;
  for (auto& c : stage_charts(r, stage_pngs)) charts.push_back(std::move(c));
  draw_charts(charts, r.paths.charts);
  write_samples(r);

  ReportDoc doc("Tandem demo: SFT, RL and a hybrid on multi-digit addition");
  doc.paragraph(cat("A ", plan.layers, "-layer Qwen3-shaped model with random weights learned to add numbers three ways, on one "
                    "engine and one training loop. Supervised fine-tuning pushes up the log-probability of every token of a "
                    "worked solution with the same weight; GRPO pushes the tokens of the model's own answers by how much better "
                    "than their group they scored; CHORD adds both terms with weights mu and 1-mu. In Tandem the three "
                    "are settings of one per-token estimator: only the coefficient on each token's log-probability changes."));
  doc.heading("Results");
  std::vector<std::vector<std::string>> rows;
  for (const auto& m : r.models)
    rows.push_back({m.label, m.trained_on, m.train_seconds > 0 ? seconds(m.train_seconds) : "-", pct_ci(m.in), pct_ci(m.ood),
                    pct(m.in.well_formed_share()), cat(std::round(m.in.mean_tokens * 10) / 10)});
  doc.table({"model", "trained on", "training time", "held-out, " + plan.task.train.text() + "s",
             "held-out, " + plan.task.ood.text() + "s", "well-formed answers", "answer tokens"},
            rows);
  doc.paragraph(cat("Each held-out set has ", plan.task.eval,
                    " problems that no stage trained on; answers are greedy and scored by the same math reward the RL stages "
                    "train with (the last number of the answer must equal the sum). In brackets: the half-width of the 95% "
                    "interval, in points."));
  doc.image("charts/accuracy.png", "held-out accuracy per model");
  doc.heading("What each stage changed");
  doc.bullets(findings(r));
  doc.image("charts/heldout_over_training.png", "held-out accuracy over training time");
  doc.paragraph("Each point is a checkpoint evaluated on the in-distribution held-out set; SFT then GRPO continues from the SFT "
                "model's time, so the x axis is the training compute each pipeline had spent.");
  doc.heading("Training curves");
  for (const auto& [title, png] : stage_pngs) doc.image(png, title);
  doc.paragraph("Every metric of every stage is in runs/<stage>/metrics.jsonl (and TensorBoard event files); `tandem plot "
                "runs/<stage>` charts them all.");

  doc.heading("Sample answers");
  std::vector<std::string> header = {"problem", "expected"};
  for (const auto& m : r.models) header.push_back(m.label);
  std::vector<std::vector<std::string>> samples;
  auto add_samples = [&](bool ood, size_t n) {
    const size_t have = r.models.empty() ? 0 : (ood ? r.models[0].ood : r.models[0].in).answers.size();
    for (size_t i = 0; i < std::min(n, have); ++i) {
      const auto& first = (ood ? r.models[0].ood : r.models[0].in).answers[i];
      std::vector<std::string> row = {first.question, first.expected};
      for (const auto& m : r.models) {
        const auto& a = (ood ? m.ood : m.in).answers[i];
        row.push_back(cat(a.correct ? "right: " : "wrong: ", "`", cell_text(a.completion), "`"));
      }
      samples.push_back(row);
    }
  };
  add_samples(false, 5);
  add_samples(true, 2);
  doc.table(header, samples);
  doc.paragraph("All answers of every model to every held-out problem are in samples.jsonl.");

  doc.heading("The task and the settings");
  doc.bullets({cat("Problems: `", r.models.empty() || r.models[0].in.answers.empty() ? "" : r.models[0].in.answers[0].question,
                   "` A demonstration writes each column's sum from right to left, carry included, then the total: `",
                   addition_solution("457", "68"), "` for 457 + 68."),
               cat(plan.task.demonstrations, " demonstrations and ", plan.task.rl_prompts, " RL prompts (answers only), ",
                   plan.task.train.text(), " numbers; ", plan.task.eval, " held-out problems each in distribution and with ",
                   plan.task.ood.text(), " numbers. No question appears in two sets."),
               cat("Tokenizer: one token per byte plus ChatML's special tokens (models/base/tokenizer.json, which the Hugging "
                   "Face tokenizers library loads); chat template ChatML."),
               cat("Model: Qwen3 architecture, ", plan.layers, " layers, hidden ", plan.hidden, ", ", plan.heads, " heads (",
                   plan.kv_heads, " KV), MLP ", plan.intermediate, ", tied embeddings, random initialisation (seed ", r.seed, ")."),
               cat("Plan `", plan.name, "`, ", r.threads, " thread(s); the whole demo took ", seconds(r.total_seconds), ".")});
  doc.heading("Files");
  std::vector<std::string> files;
  for (const auto& s : r.stages)
    files.push_back(cat("`configs/", s.key, ".yaml`: stage ", s.key, ", rerun with `tandem ", s.command, " --config ", s.config,
                        "`; its run folder `runs/", s.key, "` holds the final model (an HF folder), checkpoints and metrics."));
  files.push_back("`models/base`: the random starting model with the tokenizer and chat template.");
  if (!r.gguf_path.empty())
    files.push_back(cat("`", r.gguf_path.substr(r.paths.out.size() + 1), "`: the best model (", r.gguf_label,
                        ") as GGUF for llama.cpp, with the tokenizer and chat template in its metadata."));
  files.push_back("`data/`: every problem set as JSONL; `samples.jsonl`: every evaluated answer; `charts/`: the charts and "
                  "their data.");
  doc.bullets(files);
  if (r.stages.size() >= 2)
    doc.code(cat("tandem generate --model ", r.stages[1].run_dir, " --chat --temperature 0 --max-new-tokens ", plan.max_new_tokens,
                 " --prompt \"Add 38 and 54.\""));
  write_file_atomic(join_path(r.paths.out, "report.md"), doc.markdown());
  write_file_atomic(join_path(r.paths.out, "report.html"), doc.html());
}

}  // namespace tandem::cli
