// `tandem logprobs`: the engine's command-line face. Reads JSONL lines {"input_ids": [...]},
// writes {"logprobs": [...]} (one per token after the first) and, with --entropy, {"entropy": [...]},
// in input order. Sequences are batched by a token budget, longest first, to limit padding.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <numeric>

#include "cli/command.h"
#include "core/file.h"
#include "core/json.h"
#include "core/log.h"
#include "data/input_ids.h"
#include "model/decoder.h"
#include "model/lora_peft.h"

namespace tandem::cli {
namespace {

struct Opts {
  std::string model, adapter, data, out;
  bool entropy = false, summary = false;
  int64_t max_batch_tokens = 8192;
};

std::vector<std::vector<int32_t>> read_ids(const std::string& path, int64_t vocab) {
  std::vector<std::vector<int32_t>> seqs;
  data::for_each_jsonl_line(path, "logprobs.data", [&](const Json& j, const std::string& origin, const std::string&) {
    seqs.push_back(data::parse_input_ids(j, origin, vocab, 1, "logprobs.data"));
  });
  return seqs;
}

int run(const Opts& o) {
  const auto t0 = std::chrono::steady_clock::now();
  auto dec = model::Decoder::load(o.model);
  if (!o.adapter.empty()) dec->attach_adapters(model::load_peft_adapter(dec->config(), o.adapter));
  const auto& cfg = dec->config();
  const auto seqs = read_ids(o.data, cfg.vocab_size);
  std::vector<size_t> order(seqs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return seqs[a].size() > seqs[b].size(); });
  std::vector<std::vector<float>> logp(seqs.size()), ent(seqs.size());
  int64_t scored = 0;
  double sum_logp = 0, sum_ent = 0;
  const auto t1 = std::chrono::steady_clock::now();
  for (size_t i = 0; i < order.size();) {
    const int64_t T = int64_t(seqs[order[i]].size());
    if (T > cfg.max_position_embeddings)
      throw Error("logprobs.data", cat(o.data, ": sequence ", order[i] + 1, " has ", T, " tokens, more than max_position_embeddings ", cfg.max_position_embeddings));
    size_t j = i;
    std::vector<std::vector<int32_t>> rows;
    while (j < order.size() && (rows.empty() || int64_t(rows.size() + 1) * T <= o.max_batch_tokens)) rows.push_back(seqs[order[j++]]);
    const auto batch = model::TokenBatch::padded(rows, T);
    model::ForwardOptions fo;
    fo.entropy = o.entropy;
    const auto out = dec->forward(batch, fo);
    for (size_t r = 0; r < rows.size(); ++r) {
      const size_t idx = order[i + r];
      const int64_t len = int64_t(rows[r].size());
      for (int64_t t = 1; t < len; ++t) {
        const float lp = out.logp.f32()[r * T + t];
        logp[idx].push_back(lp);
        sum_logp += lp;
        if (o.entropy) {
          ent[idx].push_back(out.entropy.f32()[r * T + t]);
          sum_ent += ent[idx].back();
        }
      }
      scored += len - 1;
    }
    i = j;
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  std::string text;
  for (size_t i = 0; i < seqs.size(); ++i) {
    Json j;
    j["logprobs"] = logp[i];
    if (o.entropy) j["entropy"] = ent[i];
    text += j.dump() + "\n";
  }
  write_file_atomic(o.out, text);
  if (o.summary) {
    int64_t tokens = 0;
    for (const auto& s : seqs) tokens += int64_t(s.size());
    std::printf("model       %s (%s, %lld layers, hidden %lld, %lld params)\n", o.model.c_str(), cfg.architecture.c_str(),
                (long long)cfg.num_hidden_layers, (long long)cfg.hidden_size, (long long)dec->weights().num_params());
    std::printf("sequences   %zu (%lld tokens, %lld scored)\n", seqs.size(), (long long)tokens, (long long)scored);
    if (scored > 0) {
      std::printf("mean logp   %.6f  (perplexity %.3f; a uniform guess over the vocabulary gives %.3f)\n",
                  sum_logp / scored, std::exp(-sum_logp / scored), double(cfg.vocab_size));
      if (o.entropy) std::printf("mean entropy %.6f nats (uniform: %.6f)\n", sum_ent / scored, std::log(double(cfg.vocab_size)));
    }
    std::printf("time        %.3f s forward, %.0f tokens/s; total %.3f s\n", secs, double(tokens) / std::max(secs, 1e-9),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    std::printf("wrote       %s\n", o.out.c_str());
  }
  return 0;
}

Registrar reg({"logprobs", "per-token log-probs (and entropies) of token sequences under a model", [](CLI::App& sub) {
                 auto o = std::make_shared<Opts>();
                 sub.add_option("--model", o->model, "HF model folder")->required();
                 sub.add_option("--adapter", o->adapter, "PEFT LoRA adapter folder to apply to the model");
                 sub.add_option("--data", o->data, "JSONL with {\"input_ids\": [...]} per line")->required();
                 sub.add_option("--out", o->out, "JSONL output, one {\"logprobs\": [...]} per input line")->required();
                 sub.add_flag("--entropy", o->entropy, "also write the entropy of each next-token distribution");
                 sub.add_option("--max-batch-tokens", o->max_batch_tokens, "padded tokens per forward pass")->capture_default_str();
                 sub.add_flag("--summary", o->summary, "print a summary (mean log-prob, perplexity, speed)");
                 return std::function<int()>([o] { return run(*o); });
               }});

}  // namespace
}  // namespace tandem::cli
