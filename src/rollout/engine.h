// The rollout engine: batched generation with a KV cache and continuous batching, on the
// training engine's own Decoder (same weights, same kernels), so the per-token log-probs it
// returns are the ones training computes for the same sequences.
// A request is a prompt (token ids) and SamplingParams; it yields n samples. Work items
// (request, sample) fill the cache slots in input order; a finished row's slot goes to the next
// waiting item at once. The samples of one request admitted together share one prefill (the
// prompt's cache rows are copied). Given a tokenizer, each sample's text is decoded as it is
// generated, stop strings end it (rollout/stop_strings.h) and a callback can stream it.
// Deliberately not here: prompt text and chat templates (the caller encodes), rewards, and any
// paging or prefix cache across requests.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/decoder.h"
#include "rollout/sampler.h"
#include "tokenizer/tokenizer.h"

namespace tandem::rollout {

struct Request {
  std::vector<int32_t> prompt;
  SamplingParams params;
};

enum class FinishReason { kStop, kLength };
const char* finish_reason_name(FinishReason r);  // "stop", "length"

struct Sample {
  // Generated tokens: a stop id, or the token that completed a stop string, when hit, is the last.
  std::vector<int32_t> ids;
  std::vector<float> logprobs;              // per token: unmodified policy at temperature 1 (sampler.h)
  std::vector<float> behaviour_logprobs;    // per token: the distribution sampled from (sampler.h)
  FinishReason finish = FinishReason::kLength;
  // Decoded ids (special tokens skipped), cut at a stop string; only with a tokenizer.
  std::string text;
};

// Streamed text of sample `sample` of request `request`: called in generation order with chunks
// whose concatenation is the sample's final text (held back while it may begin a stop string).
using TextCallback = std::function<void(size_t request, int64_t sample, const std::string& chunk)>;

struct EngineOptions {
  size_t kv_cache_bytes = size_t(1) << 30;  // budget for the KV cache
  int64_t max_batch = 64;                   // most sequences decoded together
};

struct EngineStats {
  int64_t slots = 0, max_len = 0;
  size_t kv_cache_bytes = 0;
  int64_t prefill_tokens = 0, decode_tokens = 0, decode_steps = 0;
  double prefill_seconds = 0, decode_seconds = 0;
};

class Engine {
 public:
  // tok (optional, must outlive the engine) turns on Sample::text, stop strings and on_text.
  Engine(const model::Decoder& dec, EngineOptions opt = {}, const tokenizer::Tokenizer* tok = nullptr);
  void on_text(TextCallback cb) { on_text_ = std::move(cb); }
  // result[i][j] = sample j of requests[i]. The cache is sized for the longest
  // prompt + max_new_tokens of this call; Error when that does not fit the budget or the model.
  std::vector<std::vector<Sample>> generate(const std::vector<Request>& requests);
  const EngineStats& stats() const { return stats_; }

 private:
  const model::Decoder& dec_;
  EngineOptions opt_;
  const tokenizer::Tokenizer* tok_;
  TextCallback on_text_;
  EngineStats stats_;
};

}  // namespace tandem::rollout
