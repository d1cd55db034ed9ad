// The demo's addition task, its problem sets and its tokenizer files (see demo_task.h).
#include "cli/demo_task.h"

#include <algorithm>
#include <unordered_set>

#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "core/rng.h"

namespace tandem::cli {

namespace {

// GPT-2's byte-to-character table: printable bytes map to themselves, the rest to U+0100 upward,
// so every byte is one visible character in the vocabulary.
std::vector<std::string> byte_symbols() {
  std::vector<int> cps(256, -1);
  auto keep = [&](int lo, int hi) {
    for (int b = lo; b <= hi; ++b) cps[size_t(b)] = b;
  };
  keep('!', '~');
  keep(0xA1, 0xAC);
  keep(0xAE, 0xFF);
  int next = 256;
  for (int b = 0; b < 256; ++b)
    if (cps[size_t(b)] < 0) cps[size_t(b)] = next++;
  std::vector<std::string> out;
  for (int cp : cps) {
    std::string s;
    if (cp < 0x80) s += char(cp);
    else {
      s += char(0xC0 | (cp >> 6));
      s += char(0x80 | (cp & 0x3F));
    }
    out.push_back(s);
  }
  return out;
}

std::string random_number(Rng& rng, uint64_t& counter, int digits) {
  std::string s;
  for (int d = 0; d < digits; ++d) {
    const int lo = d == 0 && digits > 1 ? 1 : 0;
    s += char('0' + lo + int(rng.bits(counter++) % uint32_t(10 - lo)));
  }
  return s;
}

constexpr const char* kChatTemplate =
    "{%- for message in messages %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}";

}  // namespace

std::string addition_solution(const std::string& a, const std::string& b) {
  std::string steps, sum;
  int carry = 0;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const bool has_a = i < a.size(), has_b = i < b.size();
    const int da = has_a ? a[a.size() - 1 - i] - '0' : 0, db = has_b ? b[b.size() - 1 - i] - '0' : 0;
    std::string term;
    if (has_a) term += char('0' + da);
    if (has_b) term += (term.empty() ? "" : "+") + std::string(1, char('0' + db));
    if (carry) term += "+1";
    const int s = da + db + carry;
    if (!steps.empty()) steps += ",";
    steps += term + "=" + std::to_string(s);
    sum += char('0' + s % 10);
    carry = s / 10;
  }
  if (carry) sum += '1';
  std::reverse(sum.begin(), sum.end());
  return steps + ";" + sum;
}

AdditionProblem make_addition_problem(uint64_t seed, uint64_t stream, uint64_t index, int min_digits, int max_digits) {
  // One Philox stream per (stream, index): 2^20 draws an index is far more than a problem uses.
  Rng rng(seed, (stream << 40) | index);
  uint64_t c = 0;
  const int span = max_digits - min_digits + 1;
  const int da = min_digits + int(rng.bits(c++) % uint32_t(span));
  const int db = min_digits + int(rng.bits(c++) % uint32_t(span));
  const std::string a = random_number(rng, c, da), b = random_number(rng, c, db);
  AdditionProblem p;
  p.question = "Add " + a + " and " + b + ".";
  p.solution = addition_solution(a, b);
  p.answer = p.solution.substr(p.solution.rfind(';') + 1);
  return p;
}

bool is_worked_solution(const std::string& text) {
  const size_t semi = text.rfind(';');
  if (semi == std::string::npos || semi + 1 == text.size()) return false;
  auto digits = [&](size_t a, size_t b) {
    if (a >= b) return false;
    for (size_t i = a; i < b; ++i)
      if (text[i] < '0' || text[i] > '9') return false;
    return true;
  };
  if (!digits(semi + 1, text.size())) return false;
  for (size_t a = 0; a < semi;) {
    size_t b = text.find(',', a);
    if (b == std::string::npos || b > semi) b = semi;
    const size_t eq = text.find('=', a);
    if (eq == std::string::npos || eq == a || eq >= b || !digits(eq + 1, b)) return false;
    for (size_t t = a; t < eq;) {  // single digits joined by '+'
      if (!digits(t, t + 1)) return false;
      t += 1;
      if (t < eq && text[t++] != '+') return false;
      if (t == eq && text[t - 1] == '+') return false;
    }
    a = b + 1;
  }
  return semi > 0;
}

std::string DigitRange::text() const { return min == max ? cat(min, " digit") : cat(min, "-", max, " digit"); }

TaskSplits make_task_splits(uint64_t seed, const TaskSizes& sizes) {
  for (const DigitRange& r : {sizes.train, sizes.ood})
    if (r.min < 1 || r.max < r.min || r.max > 18)
      throw Error("demo.task.digits", cat("expected 1 <= min <= max <= 18, got ", r.min, "..", r.max));
  std::unordered_set<std::string> seen;
  // Draws n fresh problems from stream; a range too small for n distinct problems is an error, found
  // by giving up after many repeats in a row rather than by counting the space.
  auto draw = [&](uint64_t stream, int64_t n, DigitRange r, const char* what) {
    std::vector<AdditionProblem> out;
    uint64_t index = 0;
    int64_t repeats = 0;
    while (int64_t(out.size()) < n) {
      AdditionProblem p = make_addition_problem(seed, stream, index++, r.min, r.max);
      if (!seen.insert(p.question).second) {
        if (++repeats > 100000)
          throw Error("demo.task", cat("cannot draw ", n, " distinct ", what, " with ", r.min, "..", r.max,
                                       " digits after ", out.size(), "; use longer numbers or fewer problems"));
        continue;
      }
      repeats = 0;
      out.push_back(std::move(p));
    }
    return out;
  };
  TaskSplits s;
  // Held-out sets first, so no training set can take their problems.
  s.eval_in = draw(1, sizes.eval, sizes.train, "evaluation problems");
  s.eval_ood = draw(2, sizes.eval, sizes.ood, "longer evaluation problems");
  s.demonstrations = draw(3, sizes.demonstrations, sizes.train, "demonstrations");
  s.rl_prompts = draw(4, sizes.rl_prompts, sizes.train, "RL prompts");
  return s;
}

void write_demo_tokenizer(const std::string& dir) {
  const auto symbols = byte_symbols();
  Json vocab = Json::object();
  for (size_t i = 0; i < symbols.size(); ++i) vocab[symbols[i]] = int64_t(i);
  const char* specials[] = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
  Json added = Json::array();
  for (int i = 0; i < 3; ++i)
    added.push_back({{"id", 256 + i}, {"content", specials[i]}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", true}});
  // GPT-2's split regex (use_regex) is llama.cpp's "gpt-2" pre-tokenizer, so the GGUF export maps it;
  // with one token a byte, how text is split never changes the ids.
  const Json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", true}};
  Json tok = {{"version", "1.0"},
              {"truncation", nullptr},
              {"padding", nullptr},
              {"added_tokens", added},
              {"normalizer", nullptr},
              {"pre_tokenizer", byte_level},
              {"post_processor", nullptr},
              {"decoder", byte_level},
              {"model",
               {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
                {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false},
                {"ignore_merges", false}, {"vocab", vocab}, {"merges", Json::array()}}}};
  write_file_atomic(join_path(dir, "tokenizer.json"), tok.dump(1) + "\n");
  Json decoder_map = Json::object();
  for (int i = 0; i < 3; ++i) decoder_map[std::to_string(256 + i)] = added[size_t(i)];
  const Json cfg = {{"tokenizer_class", "PreTrainedTokenizerFast"}, {"added_tokens_decoder", decoder_map},
                    {"bos_token", nullptr}, {"eos_token", "<|im_end|>"}, {"pad_token", "<|endoftext|>"},
                    {"unk_token", nullptr}, {"model_max_length", 4096}, {"clean_up_tokenization_spaces", false},
                    {"chat_template", kChatTemplate}};
  write_file_atomic(join_path(dir, "tokenizer_config.json"), cfg.dump(2) + "\n");
  const Json special_map = {{"eos_token", "<|im_end|>"}, {"pad_token", "<|endoftext|>"},
                            {"additional_special_tokens", {"<|im_start|>", "<|im_end|>"}}};
  write_file_atomic(join_path(dir, "special_tokens_map.json"), special_map.dump(2) + "\n");
}

}  // namespace tandem::cli
