// `tandem generate`: sampling from a model with the rollout engine. Reads JSONL lines
// {"input_ids": [...]} or {"prompt": text} ({"prompt": messages} with --chat), or one --prompt,
// and writes, per sample in input order (the n samples of a line together), {"completion_ids",
// "completion" (decoded, when the folder has a tokenizer), "logprobs", "behaviour_logprobs",
// "finish_reason"}. logprobs are those of the unmodified policy at temperature 1,
// behaviour_logprobs those of the distribution sampled from (rollout/sampler.h). Generation stops
// at --stop-id ids and, unless --ignore-eos, at the eos ids of config.json, generation_config.json
// and the tokenizer; and at stop strings (--stop, and a line's "stop"), the completion text ending
// before the stop string unless --include-stop-str-in-output. One sample (--prompt, n = 1) is
// streamed to stdout as it decodes when stdout is a terminal or with --stream; the JSONL record
// then goes to --out, or follows the streamed text on stdout.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <unistd.h>

#include "cli/command.h"
#include "core/file.h"
#include "core/json.h"
#include "core/rng.h"
#include "data/input_ids.h"
#include "model/decoder.h"
#include "model/lora_peft.h"
#include "rollout/engine.h"
#include "rollout/stop_ids.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace tandem::cli {
namespace {

struct Opts {
  std::string model, adapter, data, out, prompt;
  bool chat = false, ignore_eos = false, summary = false, include_stop = false, stream = false, no_stream = false;
  bool bf16 = false;
  std::vector<std::string> stop;
  rollout::SamplingParams sp;
  uint64_t seed = 0;
  std::vector<int32_t> stop_ids;
  int64_t max_batch = 64;
  double kv_cache_mb = 1024;
};

// Turns prompts into token ids: input_ids as they are; text through the model folder's tokenizer
// (special tokens added as its post-processor adds them); with --chat, a message list (or a text,
// taken as one user message) through its chat template with the generation prompt, encoded without
// adding special tokens again, as transformers' apply_chat_template(tokenize=True) does.
class PromptEncoder {
 public:
  PromptEncoder(const std::string& model_dir, bool chat) : dir_(model_dir), chat_(chat) {}
  std::vector<int32_t> text(const tokenizer::OrderedJson& prompt, const std::string& origin) {
    if (chat_) {
      tokenizer::ChatInput in;
      if (prompt.is_string()) in.messages = tokenizer::OrderedJson::array({{{"role", "user"}, {"content", prompt}}});
      else if (prompt.is_array()) in.messages = prompt;
      else throw Error("generate.data", cat(origin, ": prompt: expected a text or a list of messages"));
      in.add_generation_prompt = true;
      return tok().encode(chat_template().render(in).text, false);
    }
    if (!prompt.is_string())
      throw Error("generate.data", cat(origin, ": prompt: expected a text (a message list needs --chat)"));
    return tok().encode(prompt.get<std::string>(), true);
  }
  bool has_tokenizer() const { return file_exists(join_path(dir_, "tokenizer.json")); }
  const tokenizer::Tokenizer& tok() {
    if (!tok_) {
      if (!has_tokenizer())
        throw Error("generate.prompt", cat("text prompts need a tokenizer: no tokenizer.json in '", dir_,
                                           "'; give input_ids lines instead"));
      tok_ = std::make_unique<tokenizer::Tokenizer>(tokenizer::Tokenizer::from_dir(dir_));
    }
    return *tok_;
  }

 private:
  const tokenizer::ChatTemplate& chat_template() {
    if (!tmpl_) tmpl_ = std::make_unique<tokenizer::ChatTemplate>(tokenizer::ChatTemplate::from_dir(dir_));
    return *tmpl_;
  }
  std::string dir_;
  bool chat_;
  std::unique_ptr<tokenizer::Tokenizer> tok_;
  std::unique_ptr<tokenizer::ChatTemplate> tmpl_;
};

void check_vocab(const std::vector<int32_t>& ids, int64_t vocab, const std::string& origin) {
  for (int32_t t : ids)
    if (t >= vocab)
      throw Error("generate.prompt", cat(origin, ": the tokenizer gives id ", t, ", outside the model's vocabulary [0, ", vocab, ")"));
  if (ids.empty()) throw Error("generate.prompt", cat(origin, ": the prompt encodes to no tokens"));
}

struct Prompt {
  std::vector<int32_t> ids;
  std::vector<std::string> stop;  // the line's own stop strings
};

// A line's "stop": a string or a list of strings.
std::vector<std::string> line_stop(const Json& j, const std::string& origin) {
  if (!j.is_object() || !j.contains("stop") || j["stop"].is_null()) return {};
  const Json& s = j["stop"];
  std::vector<std::string> out;
  for (const Json& v : s.is_array() ? s : Json::array({s})) {
    if (!v.is_string() || v.get<std::string>().empty())
      throw Error("generate.data", cat(origin, ": stop: expected a non-empty string or a list of them, got ", v.dump()));
    out.push_back(v.get<std::string>());
  }
  return out;
}

std::vector<Prompt> read_prompts(const std::string& path, int64_t vocab, PromptEncoder& enc) {
  std::vector<Prompt> prompts;
  data::for_each_jsonl_line(path, "generate.data", [&](const Json& j, const std::string& origin, const std::string& raw) {
    if (j.is_object() && !j.contains("input_ids") && (j.contains("prompt") || j.contains("messages"))) {
      const auto line = tokenizer::OrderedJson::parse(raw);  // key order kept for the template
      prompts.push_back({enc.text(line.contains("prompt") ? line["prompt"] : line["messages"], origin), line_stop(j, origin)});
      check_vocab(prompts.back().ids, vocab, origin);
      return;
    }
    prompts.push_back({data::parse_input_ids(j, origin, vocab, 1, "generate.data"), line_stop(j, origin)});
  });
  return prompts;
}

int run(const Opts& o) {
  if (o.data.empty() == o.prompt.empty())
    throw Error("generate.data", "expected one of --data prompts.jsonl or --prompt TEXT");
  if (!(o.kv_cache_mb > 0)) throw Error("generate.kv_cache_mb", cat("expected > 0, got ", o.kv_cache_mb));
  auto dec = model::Decoder::load(o.model);
  // The KV-cached decoder reads plain weights: the adapter is merged into this process's copy
  // (W += scale B A), which is the same model and costs nothing per token.
  if (!o.adapter.empty()) {
    dec->attach_adapters(model::load_peft_adapter(dec->config(), o.adapter));
    model::merge_and_detach(*dec);
  }
  if (o.bf16) dec->set_compute_dtype(DType::kBF16);
  const auto& cfg = dec->config();
  PromptEncoder enc(o.model, o.chat);
  std::vector<Prompt> prompts;
  if (!o.prompt.empty()) {
    prompts.push_back({enc.text(tokenizer::OrderedJson(o.prompt), "--prompt"), {}});
    check_vocab(prompts.back().ids, cfg.vocab_size, "--prompt");
  } else {
    prompts = read_prompts(o.data, cfg.vocab_size, enc);
  }
  rollout::SamplingParams sp = o.sp;
  sp.stop_ids = o.stop_ids;
  sp.include_stop_str_in_output = o.include_stop;
  if (!o.ignore_eos)
    for (int32_t e : rollout::default_stop_ids(o.model, cfg, enc.has_tokenizer() ? &enc.tok() : nullptr))
      sp.stop_ids.push_back(e);
  const bool has_stop_strings =
      !o.stop.empty() || std::any_of(prompts.begin(), prompts.end(), [](const Prompt& p) { return !p.stop.empty(); });
  if (has_stop_strings && !enc.has_tokenizer())
    throw Error("generate.stop", cat("stop strings are matched on decoded text: no tokenizer.json in '", o.model, "'"));
  std::vector<rollout::Request> reqs;
  for (size_t i = 0; i < prompts.size(); ++i) {
    rollout::Request r{prompts[i].ids, sp};
    r.params.stop = o.stop;
    r.params.stop.insert(r.params.stop.end(), prompts[i].stop.begin(), prompts[i].stop.end());
    // One seed per line, a pure function of (--seed, line): a line's samples do not depend on
    // which other lines are in the file.
    const Rng mix(o.seed, 0x67656e);
    r.params.seed = (uint64_t(mix.bits(2 * i)) << 32) | mix.bits(2 * i + 1);
    reqs.push_back(std::move(r));
  }
  rollout::EngineOptions eo;
  eo.max_batch = o.max_batch;
  eo.kv_cache_bytes = size_t(o.kv_cache_mb * 1024 * 1024);
  rollout::Engine engine(*dec, eo, enc.has_tokenizer() ? &enc.tok() : nullptr);
  // Streaming: one sample, a tokenizer, and a terminal (or --stream).
  const bool stream = reqs.size() == 1 && sp.n == 1 && enc.has_tokenizer() && !o.no_stream &&
                      (o.stream || isatty(STDOUT_FILENO));
  if (stream)
    engine.on_text([](size_t, int64_t, const std::string& chunk) {
      std::fwrite(chunk.data(), 1, chunk.size(), stdout);
      std::fflush(stdout);
    });
  const auto t0 = std::chrono::steady_clock::now();
  const auto res = engine.generate(reqs);
  if (stream) {
    std::fputc('\n', stdout);
    std::fflush(stdout);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::string text;
  for (const auto& samples : res)
    for (const auto& s : samples) {
      Json j;
      j["completion_ids"] = s.ids;
      if (enc.has_tokenizer()) j["completion"] = s.text;
      j["logprobs"] = s.logprobs;
      j["behaviour_logprobs"] = s.behaviour_logprobs;
      j["finish_reason"] = rollout::finish_reason_name(s.finish);
      text += j.dump() + "\n";
    }
  if (o.out.empty()) std::fwrite(text.data(), 1, text.size(), stdout);
  else write_file_atomic(o.out, text);
  if (o.summary) {
    const auto& st = engine.stats();
    std::fprintf(stderr, "kv cache    %lld slots x %lld positions, %.1f MB\n", (long long)st.slots, (long long)st.max_len,
                 double(st.kv_cache_bytes) / 1048576.0);
    std::fprintf(stderr, "prefill     %lld tokens in %.3f s (%.0f tokens/s)\n", (long long)st.prefill_tokens,
                 st.prefill_seconds, double(st.prefill_tokens) / std::max(st.prefill_seconds, 1e-9));
    std::fprintf(stderr, "decode      %lld tokens in %lld steps, %.3f s (%.0f tokens/s)\n", (long long)st.decode_tokens,
                 (long long)st.decode_steps, st.decode_seconds, double(st.decode_tokens) / std::max(st.decode_seconds, 1e-9));
    std::fprintf(stderr, "total       %.3f s\n", secs);
  }
  return 0;
}

Registrar reg({"generate", "sample completions of prompts (token ids, text or chat) with the rollout engine (KV cache)", [](CLI::App& sub) {
                 auto o = std::make_shared<Opts>();
                 sub.add_option("--model", o->model, "HF model folder")->required();
                 sub.add_option("--adapter", o->adapter, "PEFT LoRA adapter folder to apply to the model");
                 sub.add_option("--data", o->data, "JSONL: {\"input_ids\": [...]} or {\"prompt\": text | messages}, optional \"stop\", per line");
                 sub.add_option("--prompt", o->prompt, "one text prompt (instead of --data)");
                 sub.add_flag("--chat", o->chat, "render prompts with the model's chat template (generation prompt added)");
                 sub.add_option("--out", o->out, "JSONL output (default: stdout)");
                 sub.add_option("--max-new-tokens", o->sp.max_new_tokens, "most tokens generated per sample")->capture_default_str();
                 sub.add_option("--temperature", o->sp.temperature, "0 = greedy")->capture_default_str();
                 sub.add_option("--top-k", o->sp.top_k, "keep the k most likely tokens (0 = off)")->capture_default_str();
                 sub.add_option("--top-p", o->sp.top_p, "nucleus mass (1 = off)")->capture_default_str();
                 sub.add_option("--min-p", o->sp.min_p, "drop tokens below min_p x the top probability")->capture_default_str();
                 sub.add_option("--repetition-penalty", o->sp.repetition_penalty, "on prompt and completion tokens")->capture_default_str();
                 sub.add_option("--presence-penalty", o->sp.presence_penalty, "on completion tokens")->capture_default_str();
                 sub.add_option("--frequency-penalty", o->sp.frequency_penalty, "on completion tokens")->capture_default_str();
                 sub.add_option("--n", o->sp.n, "samples per prompt")->capture_default_str();
                 sub.add_option("--seed", o->seed, "sampling seed (each line derives its own)")->capture_default_str();
                 sub.add_option("--stop-id", o->stop_ids, "extra stop token id (repeatable)");
                 sub.add_option("--stop", o->stop, "stop string, matched on the decoded text (repeatable)");
                 sub.add_flag("--include-stop-str-in-output", o->include_stop, "keep the stop string at the end of the completion text");
                 sub.add_flag("--stream", o->stream, "stream a single sample's text to stdout (default when stdout is a terminal)");
                 sub.add_flag("--no-stream", o->no_stream, "do not stream, even to a terminal");
                 sub.add_flag("--ignore-eos", o->ignore_eos, "do not stop at the eos ids of config.json and generation_config.json");
                 sub.add_option("--max-batch", o->max_batch, "most sequences decoded together")->capture_default_str();
                 sub.add_option("--kv-cache-mb", o->kv_cache_mb, "KV cache budget in MiB")->capture_default_str();
                 sub.add_flag("--summary", o->summary, "print cache size and speed to stderr");
                 sub.add_flag("--bf16", o->bf16, "bf16 GEMMs with fp32 accumulation (as training's bf16: true; needs AVX512_BF16)");
                 return std::function<int()>([o] { return run(*o); });
               }});

}  // namespace
}  // namespace tandem::cli
