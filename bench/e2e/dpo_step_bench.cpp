// One DPO optimizer-step gradient through the preference trainer's step (train/pref_step.h):
// reference forward (frozen copy), policy forward kept for backward, the objective, and the policy
// backward, on B pairs of random tokens (prompt P + completion C each). The peer is
// bench/e2e/torch_dpo_step.py; bench/e2e/compare_dpo_step.py runs both side by side. One JSON line.
//   dpo_step_bench --model DIR --pairs B --prompt P --completion C [--steps K] [--warmup W] [--threads N]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/rng.h"
#include "core/threads.h"
#include "objective/presets.h"
#include "train/pref_step.h"

using namespace tandem;

namespace {
double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]);
}
}  // namespace

int main(int argc, char** argv) {
  std::string model_dir;
  int64_t B = 2, P = 128, C = 128, steps = 5, warmup = 1;
  int threads = 2;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return std::string(i + 1 < argc ? argv[++i] : ""); };
    if (a == "--model") model_dir = next();
    else if (a == "--pairs") B = std::stoll(next());
    else if (a == "--prompt") P = std::stoll(next());
    else if (a == "--completion") C = std::stoll(next());
    else if (a == "--steps") steps = std::stoll(next());
    else if (a == "--warmup") warmup = std::stoll(next());
    else if (a == "--threads") threads = std::stoi(next());
    else { std::fprintf(stderr, "unknown argument %s\n", a.c_str()); return 2; }
  }
  set_num_threads(threads);
  auto policy = model::Decoder::load(model_dir), ref = model::Decoder::load(model_dir);
  const int64_t V = policy->config().vocab_size;
  Rng rng(1, 9);
  auto draw = [&](int64_t n) {
    std::vector<int32_t> v(static_cast<size_t>(n));
    for (auto& t : v) t = int32_t(rng.next_bits() % uint32_t(V));
    return v;
  };
  std::vector<data::PreferenceExample> exs(static_cast<size_t>(B));
  std::vector<int64_t> ids;
  for (int64_t b = 0; b < B; ++b) {
    exs[size_t(b)].prompt = draw(P);
    exs[size_t(b)].chosen = draw(C);
    exs[size_t(b)].rejected = draw(C);
    ids.push_back(b);
  }
  train::CollateOptions co;
  co.max_length = P + C;
  train::PreferenceStep step(objective::find_preset("dpo"), co, *policy, ref.get());
  std::vector<double> times, ref_times;
  for (int64_t s = 0; s < warmup + steps; ++s) {
    policy->zero_grad();
    const double t0 = now();
    step.run_pairs(exs, ids, 1.0, true);
    if (s >= warmup) times.push_back(now() - t0);
  }
  // The reference forward alone, to split the step.
  const auto pb = train::collate(train::pair_sequences(exs), co);
  for (int64_t s = 0; s < steps; ++s) {
    const double t0 = now();
    train::PreferenceStep::sequence_logp_sums(*ref, pb);
    ref_times.push_back(now() - t0);
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  Json j;
  j["engine"] = "tandem";
  j["step_s_median"] = median(times);
  j["step_s_all"] = times;
  j["ref_forward_s_median"] = median(ref_times);
  j["tokens_per_s"] = double(2 * B * (P + C)) / median(times);
  j["peak_rss_mb"] = double(ru.ru_maxrss) / 1024.0;
  j["threads"] = threads;
  j["pairs"] = B;
  j["prompt"] = P;
  j["completion"] = C;
  std::printf("%s\n", j.dump().c_str());
  return 0;
}
