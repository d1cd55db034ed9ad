#include "train/run_log.h"

#include <unistd.h>

#include <fstream>

#include "core/file.h"

namespace tandem::train {

RunLog::RunLog(const std::string& output_dir, int64_t keep_through, int64_t total_steps)
    : total_(total_steps), tty_(isatty(STDERR_FILENO)) {
  const std::string path = join_path(output_dir, "metrics.jsonl");
  std::string kept;
  if (file_exists(path)) {
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
      try {
        const Json j = Json::parse(line);
        if (j.value("step", int64_t(1) << 62) <= keep_through) kept += line + "\n";
      } catch (const Json::exception&) {  // a line cut by a crash is dropped
      }
    }
  }
  write_file_atomic(path, kept);
  metrics_ = std::fopen(path.c_str(), "a");
  if (!metrics_) throw Error("train.metrics", cat("cannot open '", path, "' for appending"));
  tb_ = std::make_unique<TensorBoardWriter>(output_dir);
}

RunLog::~RunLog() {
  if (metrics_) std::fclose(metrics_);
}

void RunLog::log(const Json& m) {
  const std::string line = m.dump() + "\n";
  std::fwrite(line.data(), 1, line.size(), metrics_);
  std::fflush(metrics_);
  std::vector<std::pair<std::string, double>> scalars;
  for (auto it = m.begin(); it != m.end(); ++it)
    if (it.key() != "step" && it->is_number()) scalars.emplace_back("train/" + it.key(), it->get<double>());
  tb_->add_scalars(m.at("step").get<int64_t>(), scalars);
}

void RunLog::progress(int64_t step, double loss, double tokens_per_s, double eta_s) {
  const int width = 30;
  const int filled = total_ > 0 ? int(width * step / total_) : 0;
  const std::string bar = std::string(size_t(filled), '#') + std::string(size_t(width - filled), '.');
  const int eta = int(eta_s);
  if (tty_) {
    std::fprintf(stderr, "\r[%s] %lld/%lld  loss %.4f  %.0f tok/s  ETA %d:%02d:%02d ", bar.c_str(), (long long)step,
                 (long long)total_, loss, tokens_per_s, eta / 3600, eta / 60 % 60, eta % 60);
    if (step == total_) std::fprintf(stderr, "\n");
  } else {
    std::fprintf(stderr, "step %lld/%lld  loss %.4f  %.0f tok/s  ETA %d:%02d:%02d\n", (long long)step, (long long)total_,
                 loss, tokens_per_s, eta / 3600, eta / 60 % 60, eta % 60);
  }
  std::fflush(stderr);
}

void RunLog::message(const std::string& text) {
  std::fprintf(stderr, "%s%s\n", tty_ ? "\n" : "", text.c_str());
  std::fflush(stderr);
}

}  // namespace tandem::train
