// tokenizer.json / tokenizer_config.json -> tokenizer.ggml.* metadata (see gguf_vocab.h).
#include "tokenizer/gguf_vocab.h"

#include <map>

#include "core/file.h"
#include "core/json.h"
#include "core/log.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace tandem::tokenizer {
namespace {

using model::GgufValue;

// llama.cpp's token types (llama_token_type).
enum TokenType : int64_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

// The Split regexes llama.cpp implements, under the pre-tokenizer names it knows them by.
const std::map<std::string, std::string>& known_split_regexes() {
  static const std::map<std::string, std::string> m = {
      {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
       "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
       "llama-bpe"},
      {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"
       "\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+",
       "qwen2"},
  };
  return m;
}

void collect(const Json& node, const char* list_key, std::vector<const Json*>& out) {
  if (!node.is_object()) return;
  if (node.value("type", "") == "Sequence" && node.contains(list_key) && node[list_key].is_array()) {
    for (const auto& c : node[list_key]) collect(c, list_key, out);
  } else {
    out.push_back(&node);
  }
}

// tokenizer.ggml.pre for a byte-level BPE pre-tokenizer, or Error.
std::string pre_tokenizer_name(const Json& j, const std::string& origin) {
  std::vector<const Json*> parts;
  if (j.contains("pre_tokenizer")) collect(j["pre_tokenizer"], "pretokenizers", parts);
  std::vector<std::string> regexes;
  bool byte_level_regex = false, digits = false;
  std::string other;
  for (const Json* p : parts) {
    const std::string type = p->value("type", "");
    if (type == "Split" && p->contains("pattern") && (*p)["pattern"].contains("Regex")) {
      regexes.push_back((*p)["pattern"]["Regex"].get<std::string>());
    } else if (type == "ByteLevel") {
      byte_level_regex = p->value("use_regex", true);
    } else if (type == "Digits" && p->value("individual_digits", false)) {
      digits = true;
    } else {
      other = type.empty() ? "?" : type;
    }
  }
  std::string name;
  if (other.empty() && regexes.size() == 1 && !byte_level_regex && !digits) {
    auto it = known_split_regexes().find(regexes[0]);
    if (it != known_split_regexes().end()) name = it->second;
  } else if (other.empty() && regexes.empty() && byte_level_regex) {
    name = digits ? "smollm" : "gpt-2";
  }
  if (name.empty())
    throw Error("export.gguf.tokenizer.pre_tokenizer",
                cat("this byte-level pre-tokenizer matches none that llama.cpp implements under a name we map "
                    "(Llama 3, Qwen2/3, GPT-2, SmolLM), so llama.cpp would split text differently (", origin, ")"));
  return name;
}

// Whether the normalizer / pre-tokenizer puts "▁" before the text (SentencePiece's dummy prefix).
bool adds_space_prefix(const Json& j) {
  std::vector<const Json*> parts;
  if (j.contains("normalizer")) collect(j["normalizer"], "normalizers", parts);
  for (const Json* p : parts)
    if (p->value("type", "") == "Prepend" && p->value("prepend", "") == "\xe2\x96\x81") return true;
  parts.clear();
  if (j.contains("pre_tokenizer")) collect(j["pre_tokenizer"], "pretokenizers", parts);
  for (const Json* p : parts)
    if (p->value("type", "") == "Metaspace")
      return p->value("prepend_scheme", p->value("add_prefix_space", true) ? "always" : "never") != "never";
  return false;
}

size_t codepoints(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

bool is_byte_token(const std::string& t) {
  return t.size() == 6 && t.compare(0, 3, "<0x") == 0 && t[5] == '>' && std::isxdigit(uint8_t(t[3])) &&
         std::isxdigit(uint8_t(t[4]));
}

std::vector<std::string> merge_strings(const Json& merges, const std::string& origin) {
  std::vector<std::string> out;
  if (!merges.is_array()) return out;
  out.reserve(merges.size());
  for (const auto& m : merges) {
    if (m.is_string()) {
      out.push_back(m.get<std::string>());
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      // llama.cpp splits a merge at its first space after the first byte; byte-level BPE pieces
      // never hold a plain space, and SentencePiece pieces use "▁".
      out.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
    } else {
      throw Error("export.gguf.tokenizer.model.merges", cat("expected \"a b\" strings or [a, b] pairs (", origin, ")"));
    }
  }
  return out;
}

int64_t first_eos_from(const std::string& path) {
  if (!file_exists(path)) return -1;
  const Json j = read_json_file(path, "export.gguf.eos");
  if (!j.contains("eos_token_id")) return -1;
  const Json& e = j["eos_token_id"];
  if (e.is_number_integer()) return e.get<int64_t>();
  if (e.is_array() && !e.empty() && e[0].is_number_integer()) return e[0].get<int64_t>();
  return -1;
}

}  // namespace

GgufVocabInfo add_tokenizer_to_gguf(model::GgufWriter& w, const std::string& dir, int64_t vocab_size) {
  const std::string path = join_path(dir, "tokenizer.json");
  if (!file_exists(path))
    throw Error("export.gguf.tokenizer", cat("no tokenizer.json in '", dir, "': llama.cpp needs the tokenizer in the GGUF"));
  const Json j = read_json_file(path, "export.gguf.tokenizer");
  const Json& m = json_field(j, "model", "export.gguf.tokenizer", path);
  const std::string mtype = m.value("type", "");
  if (mtype != "BPE")
    throw Error("export.gguf.tokenizer.model.type", cat("GGUF export supports BPE tokenizers, got '", mtype, "' (", path, ")"));
  GgufVocabInfo info;
  info.model = m.value("byte_fallback", false) ? "llama" : "gpt2";
  if (info.model == "gpt2") info.pre = pre_tokenizer_name(j, path);

  // id -> (token, type)
  std::vector<std::string> tokens;
  std::vector<int64_t> types;
  auto place = [&](int64_t id, const std::string& tok, int64_t type) {
    if (id < 0 || id >= vocab_size)
      throw Error("export.gguf.tokenizer", cat("token '", tok, "' has id ", id, ", outside the model's vocab_size ",
                                               vocab_size, " (", path, ")"));
    if (size_t(id) >= tokens.size()) {
      tokens.resize(size_t(id) + 1);
      types.resize(size_t(id) + 1, 0);
    }
    tokens[size_t(id)] = tok;
    types[size_t(id)] = type;
  };
  const Json& vocab = json_field(m, "vocab", "export.gguf.tokenizer.model", path);
  const std::string unk = m.contains("unk_token") && m["unk_token"].is_string() ? m["unk_token"].get<std::string>() : "";
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    const std::string& tok = it.key();
    int64_t type = kNormal;
    if (info.model == "llama" && is_byte_token(tok)) type = kByte;
    if (!unk.empty() && tok == unk) type = kUnknown;
    if (!it.value().is_number_integer())
      throw Error("export.gguf.tokenizer", cat("token '", tok, "': expected an integer id, got ", it.value().dump(), " (", path, ")"));
    place(it.value().get<int64_t>(), tok, type);
  }
  if (j.contains("added_tokens") && j["added_tokens"].is_array())
    for (const auto& a : j["added_tokens"]) {
      const std::string content = a.value("content", "");
      place(a.value("id", int64_t(-1)), content, a.value("special", false) ? kControl : kUserDefined);
    }
  tokens.resize(size_t(vocab_size));
  types.resize(size_t(vocab_size), 0);
  for (size_t i = 0; i < tokens.size(); ++i)
    if (types[i] == 0) {
      tokens[i] = cat("[PAD", i, "]");
      types[i] = kUnused;
    }
  info.n_tokens = tokens.size();

  w.set("tokenizer.ggml.model", GgufValue::string(info.model));
  if (!info.pre.empty()) w.set("tokenizer.ggml.pre", GgufValue::string(info.pre));
  std::vector<std::string> merges = merge_strings(m.contains("merges") ? m["merges"] : Json(), path);
  if (info.model == "llama") {
    // SentencePiece ranks bigrams by the merged piece's score: the earlier the merge, the higher.
    std::map<std::string, int64_t> token_id;
    for (size_t i = 0; i < tokens.size(); ++i) token_id.emplace(tokens[i], int64_t(i));
    std::vector<double> scores(tokens.size(), -1e9);
    for (size_t i = 0; i < tokens.size(); ++i)
      if (types[i] != kNormal || codepoints(tokens[i]) <= 1) scores[i] = 0;  // bytes, specials, single characters
    for (size_t r = 0; r < merges.size(); ++r) {
      const size_t sp = merges[r].find(' ', 1);
      if (sp == std::string::npos) continue;
      auto it = token_id.find(merges[r].substr(0, sp) + merges[r].substr(sp + 1));
      if (it != token_id.end() && scores[size_t(it->second)] <= -1e9) scores[size_t(it->second)] = -double(r);
    }
    w.set("tokenizer.ggml.tokens", GgufValue::string_array(tokens));
    w.set("tokenizer.ggml.scores", GgufValue::f32_array(std::move(scores)));
    w.set("tokenizer.ggml.token_type", GgufValue::i32_array(types));
    w.set("tokenizer.ggml.add_space_prefix", GgufValue::boolean(adds_space_prefix(j)));
  } else {
    w.set("tokenizer.ggml.tokens", GgufValue::string_array(tokens));
    w.set("tokenizer.ggml.token_type", GgufValue::i32_array(types));
    w.set("tokenizer.ggml.merges", GgufValue::string_array(std::move(merges)));
  }

  const Tokenizer tok = Tokenizer::from_dir(dir);
  int64_t eos = tok.eos_id();
  if (eos < 0) eos = first_eos_from(join_path(dir, "generation_config.json"));
  if (eos < 0) eos = first_eos_from(join_path(dir, "config.json"));
  auto set_id = [&](const char* key, int64_t id) {
    if (id >= 0 && id < vocab_size) w.set(key, GgufValue::u32(uint32_t(id)));
  };
  set_id("tokenizer.ggml.bos_token_id", tok.bos_id());
  set_id("tokenizer.ggml.eos_token_id", eos);
  set_id("tokenizer.ggml.unknown_token_id", tok.unk_id());
  set_id("tokenizer.ggml.padding_token_id", tok.pad_id());
  for (const char* end_of_turn : {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>"}) {
    const int64_t id = tok.token_to_id(end_of_turn);
    if (id >= 0 && id != eos) {
      set_id("tokenizer.ggml.eot_token_id", id);
      break;
    }
  }
  // What this tokenizer's post-processor adds around a text, which is what Tandem trains and
  // generates with; llama.cpp adds the same when it reads these flags.
  const std::vector<int32_t> plain = tok.encode("a", false), special = tok.encode("a", true);
  const bool add_bos = special.size() > plain.size() && special.front() == tok.bos_id() && tok.bos_id() >= 0;
  const bool add_eos = special.size() > plain.size() && special.back() == eos && eos >= 0;
  w.set("tokenizer.ggml.add_bos_token", GgufValue::boolean(add_bos));
  w.set("tokenizer.ggml.add_eos_token", GgufValue::boolean(add_eos));

  const std::string cfg_path = join_path(dir, "tokenizer_config.json");
  const Json cfg = file_exists(cfg_path) ? read_json_file(cfg_path, "export.gguf.tokenizer_config") : Json::object();
  const bool has_template = file_exists(join_path(dir, "chat_template.jinja")) ||
                            (cfg.is_object() && cfg.contains("chat_template") && !cfg["chat_template"].is_null());
  if (has_template) {
    w.set("tokenizer.chat_template", GgufValue::string(ChatTemplate::from_dir(dir).source()));
    info.has_chat_template = true;
    if (cfg.contains("chat_template") && cfg["chat_template"].is_array()) {
      std::vector<std::string> names;
      for (const auto& e : cfg["chat_template"]) {
        const std::string n = e.value("name", "");
        if (n.empty() || n == "default") continue;
        w.set("tokenizer.chat_template." + n, GgufValue::string(e.value("template", "")));
        names.push_back(n);
      }
      if (!names.empty()) w.set("tokenizer.chat_templates", GgufValue::string_array(names));
    }
  } else {
    log_warn("export: the model folder has no chat template; llama.cpp will fall back to its own guess");
  }
  return info;
}

}  // namespace tandem::tokenizer
