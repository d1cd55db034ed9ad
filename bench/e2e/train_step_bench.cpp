// One training step of the engine: forward (log-probs kept for backward) + backward of the summed
// log-probs, the step issue 2 measures against plain PyTorch (bench/e2e/torch_train_step.py).
// Also measures this machine's sgemm peak in the same process, so the step's share of it is
// reported from one run. Prints one JSON line.
//   train_step_bench --model DIR --batch B --seq T [--steps K] [--warmup W] [--threads N] [--recompute]
//                    [--two-pass] [--bf16]
// --bf16: bf16 compute (Decoder::set_compute_dtype); the weights are marked changed before every
// step, so each step pays the rounding of the weights as a training step does after its update,
// and the GEMM peak is then the bf16 one.
// By default the step is Decoder::forward_backward (the weights of the summed log-probs are known
// before the forward, as in SFT); --two-pass uses forward() then backward(), the path RL takes.
#include <sys/resource.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "backend/cpu/kernels.h"
#include "backend/profiled_ops.h"
#include "core/json.h"
#include "core/rng.h"
#include "core/threads.h"
#include "model/decoder.h"

using namespace tandem;

namespace {
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
// Process CPU time (all threads): on a shared machine, where wall time measures the neighbours too.
double cpu_now() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}

// Best sgemm (or bf16 GEMM) GFLOP/s over a square and the step's own large shapes (multi-threaded).
double gemm_peak(const model::ModelConfig& c, int64_t N, bool bf16) {
  struct S { int64_t M, Nn, K; bool ta, tb; };
  const int64_t C = c.hidden_size, I = c.intermediate_size;
  const std::vector<S> shapes = {{2048, 2048, 2048, false, false}, {N, 2 * I, C, false, true}, {N, C, I, false, true},
                                 {std::min<int64_t>(N, 512), 4096, C, false, true}};
  double best = 0;
  for (const S& s : shapes) {
    std::vector<float> a(size_t(s.M * s.K), 0.5f), b(size_t(s.K * s.Nn), 0.25f), o(size_t(s.M * s.Nn));
    std::vector<uint16_t> ah(a.size(), 0x3f00), bh(b.size(), 0x3e80);  // 0.5, 0.25
    double t_best = 1e9;
    for (int r = 0; r < 8; ++r) {
      const double t0 = now();
      if (bf16)
        cpu::gemm_bf16(s.ta, s.tb, s.M, s.Nn, s.K, 1.f, ah.data(), s.ta ? s.M : s.K, bh.data(), s.tb ? s.K : s.Nn, 0.f,
                       o.data(), s.Nn);
      else
        cpu::sgemm(s.ta, s.tb, s.M, s.Nn, s.K, 1.f, a.data(), s.ta ? s.M : s.K, b.data(), s.tb ? s.K : s.Nn, 0.f, o.data(),
                   s.Nn);
      t_best = std::min(t_best, now() - t0);
    }
    best = std::max(best, 2.0 * s.M * s.Nn * s.K / t_best / 1e9);
  }
  return best;
}

// Model FLOPs of forward + backward (2 + 4 per multiply-add of every GEMM, causal attention
// counted on the keys actually visible); the LM-head recompute in backward is not counted.
double step_flops(const model::ModelConfig& c, int64_t B, int64_t T) {
  const double N = double(B * T), C = double(c.hidden_size), I = double(c.intermediate_size);
  const double qkv = double(c.q_dim() + 2 * c.kv_dim());
  const double per_layer = 2 * N * (C * qkv + double(c.q_dim()) * C + C * 2 * I + I * C);
  const double attn = 2.0 * 2 * double(B) * (double(T) * (T + 1) / 2) * c.head_dim * c.num_attention_heads;
  const double head = 2 * N * C * double(c.vocab_size);
  return 3 * (c.num_hidden_layers * (per_layer + attn) + head);
}
}  // namespace

int main(int argc, char** argv) {
  std::string model_dir;
  int64_t B = 1, T = 512, steps = 5, warmup = 1;
  int threads = 2;
  bool recompute = false, two_pass = false, bf16 = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return std::string(i + 1 < argc ? argv[++i] : ""); };
    if (a == "--model") model_dir = next();
    else if (a == "--batch") B = std::stoll(next());
    else if (a == "--seq") T = std::stoll(next());
    else if (a == "--steps") steps = std::stoll(next());
    else if (a == "--warmup") warmup = std::stoll(next());
    else if (a == "--threads") threads = std::stoi(next());
    else if (a == "--recompute") recompute = true;
    else if (a == "--two-pass") two_pass = true;
    else if (a == "--bf16") bf16 = true;
    else { std::fprintf(stderr, "unknown argument %s\n", a.c_str()); return 2; }
  }
  set_num_threads(threads);
  auto dec = model::Decoder::load(model_dir);
  if (bf16) dec->set_compute_dtype(DType::kBF16);
  const auto& cfg = dec->config();
  Rng rng(1, 5);
  std::vector<std::vector<int32_t>> seqs(static_cast<size_t>(B), std::vector<int32_t>(static_cast<size_t>(T), 0));
  for (auto& s : seqs)
    for (auto& t : s) t = int32_t(rng.next_bits() % uint32_t(cfg.vocab_size));
  const auto batch = model::TokenBatch::padded(seqs);
  Tensor dl = Tensor::empty({batch.N()});
  const auto mask = batch.logp_mask();
  for (int64_t n = 0; n < batch.N(); ++n) dl.f32()[n] = mask[n];  // J = sum of log-probs
  model::ForwardOptions fo{.for_backward = true, .recompute = recompute};
  std::vector<double> times, cpu_times;
  for (int64_t s = 0; s < warmup + steps; ++s) {
    if (s == warmup) op_profile_reset();  // profile (TANDEM_DEBUG_PROFILE=1) covers the timed steps only
    const double t0 = now(), c0 = cpu_now();
    dec->weights_changed();  // as after an optimizer step: under --bf16 the weights are rounded again
    if (two_pass) {
      dec->forward(batch, fo);
      dec->backward(dl, Tensor(), Tensor());
    } else {
      dec->forward_backward(batch, dl, Tensor(), fo);
    }
    if (s >= warmup) times.push_back(now() - t0), cpu_times.push_back(cpu_now() - c0);
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  const double peak_rss_mb = double(ru.ru_maxrss) / 1024.0;
  const double med = median(times);
  const double flops = step_flops(cfg, B, T);
  const double peak = gemm_peak(cfg, batch.N(), bf16);
  Json j;
  j["engine"] = "tandem";
  j["tokens_per_s"] = double(B * T) / med;
  j["step_s_median"] = med;
  j["step_s_all"] = times;
  j["step_cpu_s_median"] = median(cpu_times);  // all threads; spinning OpenMP waits count too
  j["peak_rss_mb"] = peak_rss_mb;
  j["threads"] = threads;
  j["recompute"] = recompute;
  j["two_pass"] = two_pass;
  j["compute"] = bf16 ? "bf16" : "f32";
  j["step_gflop"] = flops / 1e9;
  j["achieved_gflops"] = flops / med / 1e9;
  j["gemm_peak_gflops"] = peak;
  j["share_of_gemm_peak"] = flops / med / 1e9 / peak;
  j["batch"] = B;
  j["seq"] = T;
  j["params"] = dec->weights().num_params();
  std::printf("%s\n", j.dump().c_str());
  const std::string prof = op_profile_report();
  if (!prof.empty()) std::fprintf(stderr, "%s", prof.c_str());
  return 0;
}
