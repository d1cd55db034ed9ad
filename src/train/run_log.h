// What a run reports while it trains: metrics.jsonl (one object per logged step, flushed at once),
// TensorBoard scalars, and progress on stderr (a live bar on a terminal, plain lines otherwise).
#pragma once
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/json.h"
#include "train/tensorboard.h"

namespace tandem::train {

class RunLog {
 public:
  // Opens output_dir/metrics.jsonl, keeping only lines with step <= keep_through (a resumed run
  // continues the file exactly where its checkpoint was taken).
  RunLog(const std::string& output_dir, int64_t keep_through, int64_t total_steps);
  ~RunLog();
  void log(const Json& metrics);  // needs "step"; every other number becomes a TensorBoard scalar
  void progress(int64_t step, double loss, double tokens_per_s, double eta_s);
  void message(const std::string& text);

 private:
  FILE* metrics_ = nullptr;
  std::unique_ptr<TensorBoardWriter> tb_;
  int64_t total_;
  bool tty_;
};

}  // namespace tandem::train
