// Time of one GRPO step (train::OnlineStep::run) and its split into generate / score / reference /
// update, for 16 random prompts x G = 8 samples x 128 new tokens (no eos: every sample is full length),
// temperature 1, one epoch, one mini-batch of 128 sequences run as forward/backward passes of
// --micro sequences, AdamW. The reward is a cheap function of the token ids (share of even ids), so
// the score share is the loop's own overhead. Side-by-side peer: bench/e2e/torch_grpo_step.py.
//   grpo_step_bench [--preset tiny|smollm2-135m] [--prompts 16] [--g 8] [--new 128] [--prompt-len 32]
//                   [--micro 16] [--repeats 3] [--threads 2]
// Prints one JSON line: medians over repeats (after one warm-up step) and the per-repeat split.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/rng.h"
#include "core/threads.h"
#include "model/decoder.h"
#include "model/init.h"
#include "train/grad_clip.h"
#include "train/online_step.h"
#include "train/optimizer.h"

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

class EvenShare : public reward::RewardFunction {
 public:
  std::string name() const override { return "even_share"; }
  std::vector<reward::RewardScore> score(std::span<const reward::RewardRequest> reqs) override {
    std::vector<reward::RewardScore> out;
    for (const auto& r : reqs) {
      int even = 0, n = 0;
      for (size_t i = 0; i < r.completion.size();) {  // ids joined by spaces
        size_t j = r.completion.find(' ', i);
        if (j == std::string::npos) j = r.completion.size();
        even += (r.completion[j - 1] - '0') % 2 == 0;
        ++n;
        i = j + 1;
      }
      out.push_back({n ? double(even) / n : 0.0, {}});
    }
    return out;
  }
};

}  // namespace

int main(int argc, char** argv) {
  std::string name = "tiny";
  int64_t prompts = 16, G = 8, max_new = 128, prompt_len = 32, micro = 16, repeats = 3;
  int threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--preset") name = v;
    else if (k == "--prompts") prompts = std::stoll(v);
    else if (k == "--g") G = std::stoll(v);
    else if (k == "--new") max_new = std::stoll(v);
    else if (k == "--prompt-len") prompt_len = std::stoll(v);
    else if (k == "--micro") micro = std::stoll(v);
    else if (k == "--repeats") repeats = std::stoll(v);
    else if (k == "--threads") threads = std::stoi(v);
    else {
      std::fprintf(stderr, "unknown flag %s\n", k.c_str());
      return 2;
    }
  }
  set_num_threads(threads);
  model::Decoder dec(preset(name));
  model::init_random(dec.weights(), 0.02, 0);
  model::Decoder ref(preset(name));
  std::copy(dec.weights().flat.f32(), dec.weights().flat.f32() + dec.weights().num_params(), ref.weights().flat.f32());

  train::OnlineConfig c;
  c.algorithm = "grpo";
  c.train_batch_size = prompts;
  c.num_generations = G;
  c.max_new_tokens = max_new;
  c.ignore_eos = true;
  c.per_device_train_batch_size = micro;
  c.max_batch = prompts * G;
  c.kv_cache_mb = 4096;
  const train::ResolvedOnline r = train::resolve(c);
  std::vector<std::unique_ptr<reward::RewardFunction>> fns;
  fns.push_back(std::make_unique<EvenShare>());
  const train::RewardSet rewards(std::move(fns), {}, [](std::span<const int32_t> ids) {
    std::string s;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i) s += ' ';
      s += std::to_string(ids[i]);
    }
    return s;
  });
  std::vector<data::PromptExample> exs;
  exs.resize(size_t(prompts));
  Rng rng(1, 0);
  for (auto& e : exs)
    for (int64_t t = 0; t < prompt_len; ++t) e.prompt.push_back(int32_t(rng.next_bits() % uint32_t(dec.config().vocab_size)));
  train::AdamW adam(dec.weights().num_params());
  train::DecayRanges decay;
  const train::OptimizerStep opt = [&]() {
    const double gn = train::clip_grad_norm(dec.grads().flat, 1.0);
    adam.step(dec.weights().flat, dec.grads().flat, decay, {}, 1e-6);
    return gn;
  };
  train::OnlineStep step(c, r, dec, &ref, rewards);
  std::vector<train::PromptRef> refs;
  for (auto& e : exs) refs.push_back(std::make_shared<const data::PromptExample>(e));
  const train::PromptSource src = [&]() { return refs; };
  std::vector<double> total, gen, score, refp, upd;
  for (int64_t i = 0; i <= repeats; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    const Json m = step.run(src, i, opt);
    const double dt = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (i == 0) continue;  // warm-up: first allocation of gradients and optimizer state
    total.push_back(dt);
    gen.push_back(m["time/generate"].get<double>());
    score.push_back(m["time/score"].get<double>());
    refp.push_back(m["time/reference"].get<double>());
    upd.push_back(m["time/update"].get<double>());
  }
  double load[1] = {0};
  if (getloadavg(load, 1) < 1) load[0] = -1;
  Json j = {{"preset", name}, {"prompts", prompts}, {"g", G}, {"new", max_new}, {"prompt_len", prompt_len},
            {"micro", micro}, {"threads", threads}, {"step_s", median(total)}, {"generate_s", median(gen)},
            {"score_s", median(score)}, {"reference_s", median(refp)}, {"update_s", median(upd)},
            {"step_all", total}, {"loadavg_1m_end", load[0]}};
  std::printf("%s\n", j.dump().c_str());
  return 0;
}
