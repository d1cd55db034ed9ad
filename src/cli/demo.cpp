// `tandem demo [--quick] [--out DIR] [--seed S]`: a newcomer's first command. With nothing of the
// user's, it builds an addition task with worked solutions, a byte-level tokenizer with a ChatML
// template and a small random Qwen3-shaped model, then runs (1) SFT on a limited set of
// demonstrations, (2) GRPO from the SFT model on prompts without demonstrations, and (3) a
// single-stage hybrid (CHORD: GRPO plus an SFT term weighted by mu) from the same random start, evaluates every model on held-out
// problems as trained and with longer numbers, and writes a report folder (report.md/html, charts,
// samples, the configs that ran, the models, and a GGUF of the best one).
// Not here: the task (demo_task.h), the plan's numbers (demo_plan.h), stage configs
// (demo_stages.h), evaluation (demo_eval.h) and the report (demo_report.h).
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "cli/command.h"
#include "cli/demo_eval.h"
#include "cli/demo_plan.h"
#include "cli/demo_report.h"
#include "cli/demo_stages.h"
#include "cli/demo_task.h"
#include "cli/gguf_file.h"
#include "cli/random_model.h"
#include "core/file.h"
#include "core/json.h"
#include "core/log.h"
#include "core/threads.h"
#include "model/decoder.h"
#include "train/checkpoint.h"

namespace tandem::cli {
namespace {

namespace fs = std::filesystem;

struct Opts {
  bool quick = false;
  std::string out = "tandem-demo";
  uint64_t seed = 1;
};

// A file that marks a folder as the demo's own, so a second run may replace it.
constexpr const char* kMarker = ".tandem-demo";

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

// The output folder, empty: a new folder, or an earlier demo's (which is replaced). Anything else
// is the user's and is left alone.
void prepare_out_dir(const DemoPaths& p) {
  if (fs::exists(p.out)) {
    if (!fs::is_directory(p.out)) throw Error("demo.out", cat("'", p.out, "' exists and is not a folder"));
    if (!fs::is_empty(p.out) && !file_exists(join_path(p.out, kMarker)))
      throw Error("demo.out", cat("'", p.out, "' exists and was not written by tandem demo; give --out a new or empty folder"));
    fs::remove_all(p.out);
  }
  make_directories(p.out);
  write_file_atomic(join_path(p.out, kMarker), "written by tandem demo; a later tandem demo --out here replaces this folder\n");
  for (const auto& d : {p.data, p.models, p.runs, p.configs, p.charts}) make_directories(d);
}

// The data files, in the shapes TRL users write: demonstrations as conversational prompt/completion
// pairs (SFT, and the hybrid's expert data), RL prompts as a user message with the answer the reward
// checks, held-out problems as question and answer.
void write_data(const TaskSplits& s, const DemoPaths& p) {
  auto user = [](const AdditionProblem& q) { return Json::array({{{"role", "user"}, {"content", q.question}}}); };
  std::string sft, rl, ev_in, ev_ood;
  for (const auto& q : s.demonstrations)
    sft += Json{{"prompt", user(q)}, {"completion", Json::array({{{"role", "assistant"}, {"content", q.solution}}})}}.dump() + "\n";
  for (const auto& q : s.rl_prompts) rl += Json{{"prompt", user(q)}, {"answer", q.answer}}.dump() + "\n";
  for (const auto& q : s.eval_in) ev_in += Json{{"question", q.question}, {"answer", q.answer}}.dump() + "\n";
  for (const auto& q : s.eval_ood) ev_ood += Json{{"question", q.question}, {"answer", q.answer}}.dump() + "\n";
  write_file_atomic(p.sft_data, sft);
  write_file_atomic(p.rl_prompts, rl);
  write_file_atomic(p.eval_in, ev_in);
  write_file_atomic(p.eval_ood, ev_ood);
}

void write_base_model(const DemoPlan& plan, const DemoPaths& p, uint64_t seed) {
  RandomModelSpec spec;
  spec.arch = "qwen3";
  spec.layers = plan.layers;
  spec.hidden = plan.hidden;
  spec.heads = plan.heads;
  spec.kv_heads = plan.kv_heads;
  spec.intermediate = plan.intermediate;
  spec.vocab = kDemoVocab;
  spec.max_pos = 512;
  spec.tie = true;
  spec.bos_token_id = kDemoBosId;
  spec.eos_token_id = kDemoEosId;
  spec.pad_token_id = kDemoPadId;
  spec.seed = seed;
  const int64_t n = write_random_model(spec, p.base_model, DType::kF32);
  write_demo_tokenizer(p.base_model);
  write_file_atomic(join_path(p.base_model, "generation_config.json"),
                    Json{{"bos_token_id", kDemoBosId}, {"eos_token_id", kDemoEosId}, {"pad_token_id", kDemoPadId}}.dump(2) + "\n");
  log_info("demo: base model ", p.base_model, " (Qwen3, ", n, " parameters, random)");
}

// Training seconds of a run folder: the last "elapsed" of its metrics, and the elapsed at each step.
std::vector<std::pair<int64_t, double>> elapsed_by_step(const std::string& run_dir) {
  std::vector<std::pair<int64_t, double>> out;
  const std::string path = join_path(run_dir, "metrics.jsonl");
  if (!file_exists(path)) return out;
  const std::string text = read_file(path);
  for (size_t a = 0, b; a < text.size(); a = b + 1) {
    b = text.find('\n', a);
    if (b == std::string::npos) b = text.size();
    if (b == a) continue;
    const Json j = parse_json(text.substr(a, b - a), path, "demo");
    if (j.contains("step") && j.contains("elapsed")) out.emplace_back(j["step"].get<int64_t>(), j["elapsed"].get<double>());
  }
  return out;
}

double elapsed_at(const std::vector<std::pair<int64_t, double>>& e, int64_t step) {
  double t = 0;
  for (auto [s, x] : e)
    if (s <= step) t = x;
  return t;
}

void print_row(const DemoModelResult& m) {
  std::fprintf(stderr, "  %-22s held-out %5.1f%%   longer numbers %5.1f%%\n", m.label.c_str(), 100.0 * m.in.accuracy(),
               100.0 * m.ood.accuracy());
}

int run(const Opts& o) {
  const double t_start = now();
  // The demo's model is tiny: one thread runs it about as fast as two on a quiet machine, and a
  // second thread that has to wait for a busy core makes every step several times slower
  // (docs/demo.md). `tandem --threads N demo` (or OMP_NUM_THREADS) overrides this.
  if (!num_threads_chosen()) set_num_threads(1);
  const DemoPlan plan = demo_plan(o.quick);
  const DemoPaths paths = DemoPaths::under(o.out);
  prepare_out_dir(paths);
  std::fprintf(stderr,
               "tandem demo (%s plan): SFT, GRPO and a hybrid on multi-digit addition, from a random %lld-layer Qwen3-shaped "
               "model.\nEverything is written to %s\n\n",
               plan.name.c_str(), (long long)plan.layers, paths.out.c_str());

  const TaskSplits splits = make_task_splits(o.seed, plan.task);
  write_base_model(plan, paths, o.seed);
  write_data(splits, paths);
  const auto stages = write_demo_stages(plan, paths, o.seed);

  DemoReport rep;
  rep.plan = plan;
  rep.paths = paths;
  rep.seed = o.seed;
  rep.threads = num_threads();
  rep.stages = stages;
  auto evaluate = [&](const std::string& label, const std::string& dir, const std::string& trained_on, double train_s) {
    DemoModelResult m{label, dir, trained_on, train_s,
                      evaluate_greedy(dir, paths.base_model, splits.eval_in, plan.max_new_tokens),
                      evaluate_greedy(dir, paths.base_model, splits.eval_ood, plan.max_new_tokens)};
    print_row(m);
    return m;
  };
  std::fprintf(stderr, "Evaluating the random base model on %lld + %lld held-out problems\n", (long long)plan.task.eval,
               (long long)plan.task.eval);
  rep.models.push_back(evaluate("Base (random)", paths.base_model, "nothing", 0));

  double sft_seconds = 0;
  for (size_t i = 0; i < stages.size(); ++i) {
    const DemoStage& s = stages[i];
    std::fprintf(stderr, "\n[%zu/%zu] %s  (tandem %s --config %s)\n", i + 1, stages.size(), s.summary.c_str(),
                 s.command.c_str(), s.config.c_str());
    const double t0 = now();
    if (!run_demo_stage(s)) {
      std::fprintf(stderr, "tandem demo: stopped during stage %s; what it wrote so far is in %s\n", s.key.c_str(), paths.out.c_str());
      return 130;
    }
    rep.stage_seconds.push_back(now() - t0);
    const auto elapsed = elapsed_by_step(s.run_dir);
    const double train_s = elapsed.empty() ? rep.stage_seconds.back() : elapsed.back().second;
    const double offset = s.command == "grpo" ? sft_seconds : 0.0;  // GRPO continues on SFT's clock
    auto& curve = rep.stage_curves.emplace_back();
    std::fprintf(stderr, "Evaluating the checkpoints of %s\n", s.key.c_str());
    for (const std::string& ck : train::list_checkpoints(s.run_dir)) {
      const int64_t step = std::stoll(fs::path(ck).filename().string().substr(std::string("checkpoint-").size()));
      if (step == s.steps) continue;  // the final model is evaluated below
      const EvalResult e = evaluate_greedy(ck, paths.base_model, splits.eval_in, plan.max_new_tokens);
      curve.emplace_back(offset + elapsed_at(elapsed, step), e.accuracy());
    }
    const double behind = offset + train_s;
    rep.models.push_back(evaluate(s.label, s.run_dir, s.summary, behind));
    curve.emplace_back(behind, rep.models.back().in.accuracy());
    if (s.command == "sft") sft_seconds = train_s;
  }

  // The best trained model (in distribution; a tie goes to the earlier, cheaper one) as GGUF.
  size_t best = 1;
  for (size_t i = 2; i < rep.models.size(); ++i)
    if (rep.models[i].in.accuracy() > rep.models[best].in.accuracy()) best = i;
  const std::string best_dir = rep.models[best].model_dir;
  rep.gguf_label = rep.models[best].label;
  rep.gguf_path = join_path(paths.models, fs::path(best_dir).filename().string() + ".gguf");
  write_gguf_file(*model::Decoder::load(best_dir), paths.base_model, "f32", rep.gguf_path, "tandem-demo-" + stages[best - 1].key);

  rep.total_seconds = now() - t_start;
  write_demo_report(rep);
  std::fprintf(stderr, "\nHeld-out accuracy (greedy), %lld problems each:\n", (long long)plan.task.eval);
  for (const auto& m : rep.models) print_row(m);
  std::fprintf(stderr, "\nReport: %s (and report.html), in %.0f s\n", join_path(paths.out, "report.md").c_str(),
               rep.total_seconds);
  return 0;
}

Registrar reg({"demo", "SFT, then GRPO, and a hybrid on a built-in addition task, with a report (a few minutes on 2 cores)",
               [](CLI::App& sub) {
                 auto o = std::make_shared<Opts>();
                 sub.add_flag("--quick", o->quick, "a smaller run of about a minute");
                 sub.add_option("--out", o->out, "report folder (replaced when an earlier demo wrote it)")->capture_default_str();
                 sub.add_option("--seed", o->seed, "seed of the task, the model and every stage")->capture_default_str();
                 return std::function<int()>([o] { return run(*o); });
               }});

}  // namespace
}  // namespace tandem::cli
