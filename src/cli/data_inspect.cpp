// `tandem data inspect --config run.yaml [key=value ...]`: what a run will train on, before it
// spends compute: per split the examples read, dropped, skipped and truncated, length statistics,
// packing and padding efficiency, and a few examples with their trained tokens marked.
// Accepts a trainer's whole run.yaml: keys are read through train::SftConfig's field list (the
// shared training keys with DataConfig's flat), so training keys are accepted and a typo gets the
// nearest-key error; keys of other trainers (beta, num_generations, ...) are not known here.
// Not here: the statistics themselves (data/report.h), reading data (data/dataset.h).
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "data/collate.h"
#include "data/report.h"
#include "data/stream.h"
#include "train/config_fields.h"
#include "train/sft_config.h"

namespace tandem::cli {
namespace {

struct Opts {
  std::string config;
  std::vector<std::string> overrides;
  std::string kind = "auto";
  std::string color = "auto";
  int64_t examples = 3;
  int64_t limit = 0;
  int threads = 2;
};

template <class T>
std::vector<int64_t> lengths_of(const std::vector<std::optional<T>>& xs, std::vector<const T*>& kept) {
  std::vector<int64_t> out;
  for (const auto& x : xs)
    if (x) {
      out.push_back(data::token_count(*x));
      kept.push_back(&*x);
    }
  return out;
}

std::string show(const data::Dataset& ds, const data::SftExample& e, bool color) {
  return data::highlight(ds.renderer().tokenizer(), e.seq.ids, e.seq.trained, color);
}
std::string show(const data::Dataset& ds, const data::PreferenceExample& e, bool color) {
  const auto c = data::chosen_seq(e);
  const auto& tok = ds.renderer().tokenizer();
  return cat(data::highlight(tok, c.ids, c.trained, color), "\n  -- rejected --\n  ",
             data::highlight(tok, e.rejected, std::vector<uint8_t>(e.rejected.size(), 1), color));
}
std::string show(const data::Dataset& ds, const data::UnpairedExample& e, bool color) {
  const auto s = data::completion_seq(e);
  return cat("(label ", e.label ? "true" : "false", ") ", data::highlight(ds.renderer().tokenizer(), s.ids, s.trained, color));
}
std::string show(const data::Dataset& ds, const data::PromptExample& e, bool color) {
  std::string s = e.prompt_text;
  if (!e.demonstration.empty()) {
    const auto& tok = ds.renderer().tokenizer();
    s += data::highlight(tok, e.demonstration, std::vector<uint8_t>(e.demonstration.size(), 1), color);
  }
  return cat(s, "\n  columns: ", e.columns.dump());
}

template <class T>
void report(const data::Dataset& ds, const train::SftConfig& cfg, const Opts& o, bool color, const char* split) {
  const size_t n = o.limit > 0 ? std::min(ds.size(), size_t(o.limit)) : ds.size();
  std::printf("%s split: %zu examples from %zu source%s\n", split, ds.size(), ds.sources().size(),
              ds.sources().size() == 1 ? "" : "s");
  for (const auto& s : ds.sources())
    std::printf("  %s: %zu lines, %zu in this split, weight %g\n", s.spec.path.c_str(), s.index->size(), s.count, s.spec.weight);
  if (n == 0) return;
  std::vector<uint32_t> idx(n);
  for (size_t i = 0; i < n; ++i) idx[i] = uint32_t(i);
  data::DataStats stats;
  const auto xs = ds.get_many<T>(idx, o.threads, stats);
  std::vector<const T*> kept;
  const std::vector<int64_t> len = lengths_of(xs, kept);
  std::printf("  read %zu%s: %s\n", n, n < ds.size() ? cat(" (limit ", o.limit, ")").c_str() : "", stats.summary().c_str());
  for (const auto& s : stats.skipped_lines) std::printf("  skipped: %s\n", s.c_str());
  std::printf("  tokens per example: %s\n", data::length_stats(len).str().c_str());
  if (!kept.empty()) {
    int64_t rows = 0;
    const double pack = data::packing_efficiency(len, cfg.data.max_length, &rows);
    std::printf("  packing into rows of %lld: %lld rows, %.1f%% of slots hold tokens; padded batches of %lld: %.1f%%\n",
                (long long)cfg.data.max_length, (long long)rows, 100 * pack, (long long)cfg.per_device_train_batch_size,
                100 * data::padding_efficiency(len, cfg.per_device_train_batch_size));
  }
  const int64_t show_n = std::min<int64_t>(o.examples, int64_t(kept.size()));
  for (int64_t k = 0; k < show_n; ++k)
    std::printf("\n  example %lld (%s), %lld tokens:\n  %s\n", (long long)k, kept[size_t(k)]->origin.str().c_str(),
                (long long)data::token_count(*kept[size_t(k)]), show(ds, *kept[size_t(k)], color).c_str());
  std::printf("\n");
}

int run(const Opts& o) {
  train::SftConfig cfg;
  auto fields = train::fields_of(cfg);
  if (!o.config.empty()) train::apply_yaml_file(fields, o.config);
  for (size_t i = 0; i < o.overrides.size(); ++i) train::apply_override(fields, o.overrides[i], cat("override ", i + 1));
  cfg.data.validate();
  if (cfg.model_name_or_path.empty()) throw Error("model_name_or_path", "required (the tokenizer and chat template render the data)");
  const bool color = o.color == "always" || (o.color == "auto" && isatty(STDOUT_FILENO));
  std::string kind = o.kind;
  const auto renderer = data::ChatRenderer::shared(cfg.model_name_or_path);
  for (data::Split split : {data::Split::kTrain, data::Split::kEval}) {
    data::Dataset ds(cfg.data, renderer, split, uint64_t(cfg.seed));
    const char* name = split == data::Split::kTrain ? "train" : "eval";
    if (ds.empty() && split == data::Split::kEval) continue;
    if (kind == "auto" && !ds.empty()) {
      const data::Origin origin = ds.origin(0);
      const auto& src = ds.sources().front().spec;
      kind = data::detect_kind(data::to_canonical(data::parse_line(ds.raw_line(0), origin), src, origin));
      std::printf("kind: %s (from the fields of %s; --kind to choose)\n", kind.c_str(), origin.str().c_str());
    }
    if (kind == "sft") report<data::SftExample>(ds, cfg, o, color, name);
    else if (kind == "preference") report<data::PreferenceExample>(ds, cfg, o, color, name);
    else if (kind == "unpaired") report<data::UnpairedExample>(ds, cfg, o, color, name);
    else if (kind == "prompt") report<data::PromptExample>(ds, cfg, o, color, name);
    else throw Error("data.inspect.kind", cat("expected auto, sft, preference, unpaired or prompt, got '", kind, "'"));
  }
  return 0;
}

Registrar reg({"data", "inspect datasets: counts, lengths, truncation, packing, trained tokens", [](CLI::App& sub) {
                 auto o = std::make_shared<Opts>();
                 sub.require_subcommand(1);
                 CLI::App* ins = sub.add_subcommand("inspect", "what a run.yaml's data will train on");
                 ins->add_option("--config", o->config, "YAML run config (a trainer's whole run.yaml)");
                 ins->add_option("overrides", o->overrides, "key=value overrides, e.g. max_length=512");
                 ins->add_option("--kind", o->kind, "auto | sft | preference | unpaired | prompt");
                 ins->add_option("--examples", o->examples, "examples to print (default 3)");
                 ins->add_option("--limit", o->limit, "read only the first N examples of each split (0: all)");
                 ins->add_option("--color", o->color, "auto | always | never: mark trained tokens with ANSI colour");
                 ins->add_option("--data-threads", o->threads, "threads that tokenize (default 2)");
                 return std::function<int()>([o] { return run(*o); });
               }});

}  // namespace
}  // namespace tandem::cli
