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

#include <cstdint>
#include <cstdio>
#include <exception>
#include <string>
#include <string_view>
#include <yaml-cpp/yaml.h>

#include "core/json.h"
#include "data/input_ids.h"
#include "data/tokenized_jsonl.h"
#include "model/config.h"
#include "model/safetensors.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_config.h"
#include "train/config_fields.h"
#include "train/sft_config.h"

namespace tandem::fuzz {

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
  lim.max_call_depth = 50;
  lim.max_output_bytes = 1u << 20;
  lim.max_loop_iterations = 100000;
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

struct Target {
  const char* name;
  void (*fn)(const uint8_t*, size_t);
};
inline constexpr Target kTargets[] = {
    {"safetensors", safetensors_file}, {"config_json", config_json}, {"tokenizer_json", tokenizer_json},
    {"jinja", jinja_template},         {"tokenizer_config", tokenizer_config}, {"jsonl", jsonl_dataset},
    {"yaml_config", yaml_config},
};

}  // namespace tandem::fuzz
