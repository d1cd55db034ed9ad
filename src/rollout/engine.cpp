#include "rollout/engine.h"

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <memory>

#include "backend/registry.h"
#include "model/incremental.h"
#include "rollout/stop_strings.h"

namespace tandem::rollout {

const char* finish_reason_name(FinishReason r) { return r == FinishReason::kStop ? "stop" : "length"; }

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

struct Item {
  int64_t req, sample;
};

// A sequence in flight: which work item it is, where its cache lives, what it last emitted.
struct Row {
  Item item;
  int32_t slot;
  int32_t last = -1;
  TokenHistory history;
  std::unique_ptr<TextTracker> text;  // with a tokenizer
};

}  // namespace

Engine::Engine(const model::Decoder& dec, EngineOptions opt, const tokenizer::Tokenizer* tok)
    : dec_(dec), opt_(opt), tok_(tok) {
  if (opt_.max_batch < 1) throw Error("rollout.max_batch", cat("expected >= 1, got ", opt_.max_batch));
}

std::vector<std::vector<Sample>> Engine::generate(const std::vector<Request>& requests) {
  const auto& cfg = dec_.config();
  std::vector<std::vector<Sample>> out(requests.size());
  int64_t max_len = 1;
  std::deque<Item> waiting;
  for (size_t i = 0; i < requests.size(); ++i) {
    const Request& r = requests[i];
    const std::string where = cat("rollout.request[", i, "]");
    r.params.validate(where);
    if (!r.params.stop.empty() && !tok_)
      throw Error(where + ".stop", "stop strings are matched on decoded text, expected a tokenizer (the model folder has none)");
    if (r.prompt.empty()) throw Error(where + ".prompt", "expected at least one token, got an empty prompt");
    for (size_t t = 0; t < r.prompt.size(); ++t)
      if (r.prompt[t] < 0 || r.prompt[t] >= cfg.vocab_size)
        throw Error(where + ".prompt", cat("token ", t, " is ", r.prompt[t], ", expected an id in [0, ", cfg.vocab_size, ")"));
    for (int32_t s : r.params.stop_ids)
      if (s < 0 || s >= cfg.vocab_size) throw Error(where + ".stop_ids", cat("expected ids in [0, ", cfg.vocab_size, "), got ", s));
    // The last generated token is never fed back, so a sequence occupies prompt + max_new - 1 positions.
    const int64_t need = int64_t(r.prompt.size()) + r.params.max_new_tokens - 1;
    if (need > cfg.max_position_embeddings)
      throw Error(where, cat("prompt (", r.prompt.size(), " tokens) + max_new_tokens (", r.params.max_new_tokens,
                             ") - 1 = ", need, ", expected at most max_position_embeddings = ", cfg.max_position_embeddings));
    max_len = std::max(max_len, need);
    out[i].resize(size_t(r.params.n));
    for (int64_t j = 0; j < r.params.n; ++j) waiting.push_back({int64_t(i), j});
  }
  if (waiting.empty()) return out;
  const int64_t slots = model::KvCache::slots_for_budget(cfg, opt_.kv_cache_bytes, max_len, opt_.max_batch);
  model::KvCache cache(cfg, slots, max_len);
  model::IncrementalDecoder inc(dec_, cache);
  const Ops& ops = ops_for(cpu_device());
  stats_ = EngineStats{};
  stats_.slots = slots, stats_.max_len = max_len, stats_.kv_cache_bytes = cache.bytes();

  std::vector<int32_t> free_slots;
  for (int64_t s = slots - 1; s >= 0; --s) free_slots.push_back(int32_t(s));
  std::vector<Row> rows;

  // Draws each row's next token from its logits row; rows are independent (counter-based
  // draws), so they run in parallel.
  auto choose = [&](std::vector<Row>& rs, const std::vector<int64_t>& logits_row, const Tensor& logits) {
    std::vector<TokenChoice> cs(rs.size());
#pragma omp parallel for schedule(dynamic, 1) if (rs.size() > 1)
    for (size_t i = 0; i < rs.size(); ++i) {
      const Row& row = rs[i];
      const SamplingParams& p = requests[size_t(row.item.req)].params;
      const Sample& smp = out[size_t(row.item.req)][size_t(row.item.sample)];
      cs[i] = sample_next(logits.f32() + logits_row[i] * cfg.vocab_size, cfg.vocab_size, p,
                          p.has_penalties() ? &row.history : nullptr, uint64_t(row.item.sample), uint64_t(smp.ids.size()));
    }
    return cs;
  };
  // Records the chosen token for row; false when the row has finished.
  auto take = [&](Row& row, const TokenChoice& c) {
    const Request& rq = requests[size_t(row.item.req)];
    Sample& smp = out[size_t(row.item.req)][size_t(row.item.sample)];
    const SamplingParams& p = rq.params;
    smp.ids.push_back(c.id);
    smp.logprobs.push_back(c.logprob);
    smp.behaviour_logprobs.push_back(c.behaviour_logprob);
    if (p.has_penalties()) row.history.add(c.id);
    row.last = c.id;
    bool more = true;
    smp.finish = FinishReason::kLength;
    if (row.text && row.text->add(c.id)) {
      smp.finish = FinishReason::kStop;
      more = false;
    } else if (std::find(p.stop_ids.begin(), p.stop_ids.end(), c.id) != p.stop_ids.end()) {
      smp.finish = FinishReason::kStop;
      more = false;
    } else {
      more = int64_t(smp.ids.size()) < p.max_new_tokens;
    }
    if (row.text) {
      if (!more) row.text->finish();
      if (on_text_) {
        const std::string chunk = row.text->take_ready();
        if (!chunk.empty()) on_text_(size_t(row.item.req), row.item.sample, chunk);
      }
      if (!more) smp.text = row.text->text();
    }
    return more;
  };

  while (!waiting.empty() || !rows.empty()) {
    // Admit waiting items into free slots; items of one request share one prefill.
    std::vector<Row> admitted;
    while (!waiting.empty() && !free_slots.empty()) {
      admitted.push_back({waiting.front(), free_slots.back(), -1, {}, nullptr});
      if (tok_) {
        const SamplingParams& p = requests[size_t(waiting.front().req)].params;
        admitted.back().text = std::make_unique<TextTracker>(*tok_, p.stop, p.include_stop_str_in_output);
      }
      waiting.pop_front();
      free_slots.pop_back();
    }
    if (!admitted.empty()) {
      const auto t0 = Clock::now();
      std::map<int64_t, int32_t> first_slot;  // request -> the slot its prompt is prefilled into
      std::vector<int32_t> pf_slots;
      std::vector<std::vector<int32_t>> pf_prompts;
      std::map<int64_t, int64_t> logits_row;
      for (const Row& r : admitted)
        if (!first_slot.count(r.item.req)) {
          first_slot[r.item.req] = r.slot;
          logits_row[r.item.req] = int64_t(pf_slots.size());
          pf_slots.push_back(r.slot);
          pf_prompts.push_back(requests[size_t(r.item.req)].prompt);
          stats_.prefill_tokens += int64_t(requests[size_t(r.item.req)].prompt.size());
        }
      const Tensor logits = inc.prefill(pf_slots, pf_prompts);
      std::vector<int64_t> lrow;
      for (Row& r : admitted) {
        if (r.slot != first_slot[r.item.req]) cache.copy_slot(ops, first_slot[r.item.req], r.slot);
        const Request& rq = requests[size_t(r.item.req)];
        if (rq.params.has_penalties()) r.history.set_prompt(rq.prompt);
        lrow.push_back(logits_row[r.item.req]);
      }
      const auto cs = choose(admitted, lrow, logits);
      for (size_t i = 0; i < admitted.size(); ++i) {
        if (take(admitted[i], cs[i])) rows.push_back(std::move(admitted[i]));
        else free_slots.push_back(admitted[i].slot);
      }
      stats_.prefill_seconds += since(t0);
      continue;  // admit again: slots may have freed at once
    }
    if (rows.empty()) continue;
    const auto t0 = Clock::now();
    std::vector<int32_t> slot_ids, tokens;
    for (const Row& r : rows) slot_ids.push_back(r.slot), tokens.push_back(r.last);
    const Tensor logits = inc.decode(slot_ids, tokens);
    std::vector<int64_t> lrow(rows.size());
    for (size_t i = 0; i < rows.size(); ++i) lrow[i] = int64_t(i);
    const auto cs = choose(rows, lrow, logits);
    std::vector<Row> still;
    for (size_t i = 0; i < rows.size(); ++i) {
      if (take(rows[i], cs[i])) still.push_back(std::move(rows[i]));
      else free_slots.push_back(rows[i].slot);
    }
    rows = std::move(still);
    stats_.decode_tokens += int64_t(slot_ids.size());
    ++stats_.decode_steps;
    stats_.decode_seconds += since(t0);
  }
  return out;
}

}  // namespace tandem::rollout
