// One SFT training step (Decoder::forward_backward of summed log-probs) with full fine-tuning and
// with LoRA adapters of several ranks on the same model, in one process, interleaved: step time
// and the memory that scales with what is trained (gradient buffer + AdamW's two moments).
// Prints one JSON line per configuration.
//   lora_step_bench --model DIR --seq T [--steps K] [--ranks 8,64] [--targets all|qv] [--threads N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/rng.h"
#include "core/threads.h"
#include "model/decoder.h"
#include "model/lora.h"

using namespace tandem;

namespace {
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}
}  // namespace

int main(int argc, char** argv) {
  std::string model_dir, ranks_s = "8,64", targets = "all";
  int64_t T = 256, steps = 3, threads = 2;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--model") model_dir = v;
    else if (k == "--seq") T = std::stoll(v);
    else if (k == "--steps") steps = std::stoll(v);
    else if (k == "--ranks") ranks_s = v;
    else if (k == "--targets") targets = v;
    else if (k == "--threads") threads = std::stoll(v);
  }
  if (model_dir.empty()) {
    std::fprintf(stderr, "usage: lora_step_bench --model DIR --seq T [--steps K] [--ranks 8,64] [--targets all|qv]\n");
    return 2;
  }
  set_num_threads(int(threads));
  auto dec = model::Decoder::load(model_dir);
  const auto& cfg = dec->config();
  std::vector<int32_t> ids(static_cast<size_t>(T));
  Rng rng(1, 1);
  for (auto& t : ids) t = int32_t(rng.next_bits() % uint32_t(cfg.vocab_size));
  const auto batch = model::TokenBatch::padded({ids});
  Tensor dl = Tensor::empty({batch.N()});
  for (int64_t n = 0; n < batch.N(); ++n) dl.f32()[n] = n > 0 ? -1.f / float(T) : 0.f;

  std::vector<int64_t> ranks = {0};  // 0 = full fine-tuning
  std::stringstream ss(ranks_s);
  for (std::string r; std::getline(ss, r, ',');) ranks.push_back(std::stoll(r));
  std::vector<std::vector<double>> times(ranks.size());
  std::vector<int64_t> trained(ranks.size());
  for (int64_t s = 0; s <= steps; ++s)  // step 0 is the warm-up of each configuration
    for (size_t i = 0; i < ranks.size(); ++i) {
      if (ranks[i] > 0) {
        model::LoraConfig lc;
        lc.r = ranks[i];
        lc.alpha = 2.0 * double(ranks[i]);
        lc.target_modules = targets == "qv" ? std::vector<std::string>{"q_proj", "v_proj"}
                                            : std::vector<std::string>{"q_proj", "k_proj", "v_proj", "o_proj",
                                                                       "gate_proj", "up_proj", "down_proj"};
        auto a = std::make_unique<model::LoraAdapters>(cfg, lc);
        a->init(3);
        dec->attach_adapters(std::move(a));
      }
      dec->trainable_grads();  // allocate outside the timed region (attach frees the base's)
      dec->zero_grad();
      const double t0 = now();
      dec->forward_backward(batch, dl, Tensor());
      const double dt = now() - t0;
      if (s > 0) times[i].push_back(dt);
      trained[i] = dec->trainable_grads().numel();
      if (ranks[i] > 0) dec->detach_adapters();
    }
  for (size_t i = 0; i < ranks.size(); ++i) {
    const double t = median(times[i]);
    Json j = {{"model", model_dir}, {"seq", T}, {"threads", threads}, {"what", ranks[i] ? cat("lora r=", ranks[i], " ", targets) : "full"},
              {"median_step_s", t}, {"tokens_per_s", double(T) / t}, {"trained_params", trained[i]},
              {"grad_plus_adam_mb", 3.0 * 4.0 * double(trained[i]) / 1048576.0},
              {"step_time_vs_full", t / median(times[0])}};
    std::printf("%s\n", j.dump().c_str());
  }
  return 0;
}
