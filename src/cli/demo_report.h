// The demo's report folder: report.md and report.html (the same document), the charts they show
// (charts/*.png: accuracy per model, held-out accuracy over training, and loss, reward, accuracy,
// response length and KL over the steps of each stage), samples.jsonl with every evaluated answer,
// and a paragraph per stage that says what it changed, computed from the measured accuracies.
// Not here: training or evaluating (demo.cpp, demo_eval.h).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "cli/charts.h"
#include "cli/demo_eval.h"
#include "cli/demo_plan.h"
#include "cli/demo_stages.h"

namespace tandem::cli {

// One evaluated model: the base, or the final model of a stage.
struct DemoModelResult {
  std::string label;      // "Base (random)", "SFT", ...
  std::string model_dir;
  std::string trained_on;  // one line for the table
  double train_seconds = 0;  // training time behind this model (stages before it included)
  EvalResult in, ood;     // held-out: in distribution, longer numbers
};

struct DemoReport {
  DemoPlan plan;
  DemoPaths paths;
  uint64_t seed = 0;
  int threads = 1;
  std::vector<DemoStage> stages;
  std::vector<double> stage_seconds;       // wall time of each stage's training
  std::vector<DemoModelResult> models;     // base first, then one per stage in order
  // Held-out accuracy (in distribution) at each checkpoint of each stage, the final model last:
  // (training seconds of the pipeline so far, accuracy). Stage 2 continues on stage 1's clock.
  std::vector<std::vector<std::pair<double, double>>> stage_curves;
  std::string gguf_path, gguf_label;       // the exported best model
  double total_seconds = 0;
};

// Writes report.md, report.html, samples.jsonl and charts/ under r.paths.out.
void write_demo_report(const DemoReport& r);

}  // namespace tandem::cli
