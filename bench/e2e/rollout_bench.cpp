// Generation speed of the rollout engine: prefill tokens/s and decode tokens/s at given batch
// sizes, for equal-length random prompts, sampling at temperature 1 (sampling cost included),
// no stop ids. Side-by-side peer: bench/e2e/torch_rollout.py (greedy; sampling is a small share).
//   rollout_bench [--preset tiny|smollm2-135m] [--prompt-len P] [--new N] [--batch B]... [--repeats R]
//                 [--threads T]
// Prints one JSON line per batch size: medians over repeats, the KV cache bytes per token, the
// max and mean |rollout logprob - Decoder::forward logprob| of the first repeat's sequences; with
// TANDEM_DEBUG_PROFILE=1 also the per-op profile on stderr.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "backend/profiled_ops.h"
#include "core/json.h"
#include "core/rng.h"
#include "core/threads.h"
#include "model/decoder.h"
#include "model/init.h"
#include "model/kv_cache.h"
#include "rollout/engine.h"

using namespace tandem;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

model::ModelConfig preset(const std::string& name) {
  Json j;
  const bool smol = name == "smollm2-135m";
  if (!smol && name != "tiny") throw Error("bench.preset", cat("expected tiny or smollm2-135m, got ", name));
  j["architectures"] = {"LlamaForCausalLM"};
  j["hidden_size"] = smol ? 576 : 256;
  j["intermediate_size"] = smol ? 1536 : 768;
  j["num_hidden_layers"] = smol ? 30 : 4;
  j["num_attention_heads"] = smol ? 9 : 4;
  j["num_key_value_heads"] = smol ? 3 : 4;
  j["head_dim"] = 64;
  j["vocab_size"] = smol ? 49152 : 8192;
  j["tie_word_embeddings"] = smol;
  j["rope_theta"] = smol ? 100000.0 : 10000.0;
  j["rms_norm_eps"] = 1e-5;
  j["max_position_embeddings"] = 4096;
  return model::ModelConfig::from_json(j, "preset " + name);
}

}  // namespace

int main(int argc, char** argv) {
  std::string name = "tiny";
  int64_t prompt_len = 128, max_new = 64, repeats = 3;
  int threads = 2;
  std::vector<int64_t> batches;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--preset") name = v;
    else if (k == "--prompt-len") prompt_len = std::stoll(v);
    else if (k == "--new") max_new = std::stoll(v);
    else if (k == "--batch") batches.push_back(std::stoll(v));
    else if (k == "--repeats") repeats = std::stoll(v);
    else if (k == "--threads") threads = std::stoi(v);
    else {
      std::fprintf(stderr, "unknown flag %s\n", k.c_str());
      return 2;
    }
  }
  if (batches.empty()) batches = {1, 16};
  set_num_threads(threads);
  model::Decoder dec(preset(name));
  model::init_random(dec.weights(), 0.02, 0);
  const auto& cfg = dec.config();
  Rng rng(1, 0);
  for (int64_t B : batches) {
    std::vector<double> pre, dcd;
    double gap_max = 0, gap_sum = 0;
    int64_t gap_n = 0;
    for (int64_t r = 0; r < repeats; ++r) {
      std::vector<rollout::Request> reqs;
      for (int64_t b = 0; b < B; ++b) {
        rollout::Request q;
        for (int64_t t = 0; t < prompt_len; ++t) q.prompt.push_back(int32_t(rng.next_bits() % uint32_t(cfg.vocab_size)));
        q.params.max_new_tokens = max_new;
        q.params.seed = uint64_t(b);
        reqs.push_back(std::move(q));
      }
      rollout::Engine engine(dec, {.max_batch = B});
      const auto res = engine.generate(reqs);
      const auto& s = engine.stats();
      if (r == 0) {  // the rollout's log-probs against the training forward of the same sequences
        std::vector<std::vector<int32_t>> seqs;
        for (int64_t b = 0; b < B; ++b) {
          seqs.push_back(reqs[size_t(b)].prompt);
          seqs.back().insert(seqs.back().end(), res[size_t(b)][0].ids.begin(), res[size_t(b)][0].ids.end());
        }
        const auto batch = model::TokenBatch::padded(seqs);
        const auto fwd = dec.forward(batch, {});
        for (int64_t b = 0; b < B; ++b)
          for (size_t t = 0; t < res[size_t(b)][0].ids.size(); ++t) {
            const double g = std::abs(double(res[size_t(b)][0].logprobs[t]) -
                                      fwd.logp.f32()[b * batch.T + prompt_len + int64_t(t)]);
            gap_max = std::max(gap_max, g);
            gap_sum += g;
            ++gap_n;
          }
      }
      pre.push_back(double(s.prefill_tokens) / s.prefill_seconds);
      dcd.push_back(double(s.decode_tokens) / s.decode_seconds);
    }
    Json j;
    j["preset"] = name;
    j["batch"] = B;
    j["prompt_len"] = prompt_len;
    j["new"] = max_new;
    j["threads"] = threads;
    j["prefill_tokens_per_s"] = median(pre);
    j["decode_tokens_per_s"] = median(dcd);
    j["prefill_all"] = pre;
    j["decode_all"] = dcd;
    j["logprob_gap_vs_training_max"] = gap_max;
    j["logprob_gap_vs_training_mean"] = gap_sum / double(std::max<int64_t>(gap_n, 1));
    j["kv_cache_bytes_per_token"] = model::KvCache::bytes_per_slot(cfg, 1);
    std::printf("%s\n", j.dump().c_str());
    std::fflush(stdout);
    const std::string prof = op_profile_report();  // TANDEM_DEBUG_PROFILE=1
    if (!prof.empty()) std::fprintf(stderr, "batch %lld, all repeats:\n%s", (long long)B, prof.c_str());
    op_profile_reset();
  }
  return 0;
}
