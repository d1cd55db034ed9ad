#include "data/shapes.h"

#include <algorithm>

namespace tandem::data {

namespace {

const OrderedJson kNull;

const OrderedJson& tools_of(const OrderedJson& line) {
  auto it = line.find("tools");
  return it == line.end() ? kNull : *it;
}

OrderedJson assistant(const OrderedJson& content) {
  OrderedJson m = OrderedJson::object();
  m["role"] = "assistant";
  m["content"] = content;
  return OrderedJson::array({m});
}

void train_all(TokenSeq& s) {
  s.trained.assign(s.ids.size(), 1);
  if (!s.trained.empty()) s.trained[0] = 0;
}

void count(DataStats& stats, int64_t tokens, int64_t trained) {
  ++stats.examples;
  stats.tokens += tokens;
  stats.trained += trained;
}

std::vector<int32_t> with_eos(std::vector<int32_t> ids, int32_t eos) {
  if (eos >= 0 && (ids.empty() || ids.back() != eos)) ids.push_back(eos);
  return ids;
}

const std::string& nonempty_string(const OrderedJson& v, const std::string& field, const Origin& o) {
  if (!v.is_string()) throw BadLine(o, field, "a string", describe(v));
  if (v.get_ref<const std::string&>().empty()) throw BadLine(o, field, "a non-empty string", "''");
  return v.get_ref<const std::string&>();
}

// A completion given as a string after a message-list prompt is one assistant message.
OrderedJson as_messages(const OrderedJson& v, const std::string& field, const Origin& o) {
  if (v.is_string()) {
    nonempty_string(v, field, o);
    return assistant(v);
  }
  if (v.is_array()) return v;
  throw BadLine(o, field, "a string or a list of messages", describe(v));
}

// prompt + one completion, either both strings or a message-list prompt. completion gets only the
// tokens that are trained (through the end-of-turn token); glue after it is returned in *glue.
void prompt_completion(const OrderedJson& line, const std::string& prompt_key, const OrderedJson& completion,
                       const std::string& field, const ChatRenderer& r, const Origin& o, std::vector<int32_t>& prompt,
                       std::vector<int32_t>& out, std::vector<int32_t>* glue) {
  const OrderedJson& p = line[prompt_key];
  if (p.is_string()) {
    if (!completion.is_string()) throw BadLine(o, field, "a string (the prompt is a string)", describe(completion));
    prompt = r.encode(p.get<std::string>(), true);
    out = with_eos(r.encode(nonempty_string(completion, field, o), false), r.eos_id());
    if (glue) glue->clear();
    return;
  }
  if (!p.is_array()) throw BadLine(o, prompt_key, "a string or a list of messages", describe(p));
  Continuation c = r.continuation(p, as_messages(completion, field, o), tools_of(line), field, o);
  prompt = std::move(c.prompt);
  if (glue) glue->assign(c.completion.begin() + long(c.n_trained), c.completion.end());
  c.completion.resize(c.n_trained);
  out = std::move(c.completion);
}

std::string keys_of(const OrderedJson& line) {
  std::string k;
  for (auto it = line.begin(); it != line.end(); ++it) k += (k.empty() ? "" : ", ") + it.key();
  return k.empty() ? "an empty object" : "fields " + k;
}

// TRL's implicit prompt of two strings: their common prefix, backed off before a space and to a
// UTF-8 character boundary.
size_t common_prefix(const std::string& a, const std::string& b) {
  size_t i = 0;
  const size_t n = std::min(a.size(), b.size());
  while (i < n && a[i] == b[i]) ++i;
  if (i < n && i > 0 && a[i - 1] == ' ') --i;
  while (i > 0 && i < a.size() && (uint8_t(a[i]) & 0xC0) == 0x80) --i;
  return i;
}

Json to_json(const OrderedJson& v) { return Json::parse(v.dump()); }

}  // namespace

std::vector<int32_t> read_ids(const OrderedJson& line, const std::string& key, const Origin& o, size_t min_len) {
  if (!line.contains(key)) throw BadLine(o, key, "a list of token ids", "nothing");
  const OrderedJson& v = line[key];
  if (!v.is_array() || v.size() < min_len)
    throw BadLine(o, key, cat("a list of at least ", min_len, " token id", min_len == 1 ? "" : "s"), describe(v));
  std::vector<int32_t> ids;
  ids.reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_number_integer()) throw BadLine(o, cat(key, "[", i, "]"), "an integer token id", describe(v[i]));
    const int64_t x = v[i].get<int64_t>();
    if (x < 0 || x > INT32_MAX) throw BadLine(o, cat(key, "[", i, "]"), "a token id in [0, 2^31)", describe(v[i]));
    ids.push_back(int32_t(x));
  }
  return ids;
}

std::optional<SftExample> read_sft(const OrderedJson& line, const ChatRenderer& r, const ShapeOptions& opt,
                                   const Origin& o, DataStats& stats) {
  SftExample ex;
  ex.origin = o;
  TokenSeq& s = ex.seq;
  if (line.contains("input_ids")) {
    s.ids = read_ids(line, "input_ids", o, 2);
    train_all(s);
    for (const char* key : {"completion_mask", "assistant_masks"}) {
      if (!line.contains(key)) continue;
      const OrderedJson& m = line[key];
      if (!m.is_array() || m.size() != s.ids.size())
        throw BadLine(o, key, cat("a list of ", s.ids.size(), " zeros and ones (one per input id)"), describe(m));
      for (size_t t = 0; t < m.size(); ++t) {
        if (!m[t].is_number_integer() || (m[t].get<int64_t>() != 0 && m[t].get<int64_t>() != 1))
          throw BadLine(o, cat(key, "[", t, "]"), "0 or 1", describe(m[t]));
        s.trained[t] = t > 0 && m[t].get<int64_t>() == 1;
      }
      break;
    }
  } else if (line.contains("prompt_input_ids") || line.contains("completion_input_ids")) {
    const auto p = read_ids(line, "prompt_input_ids", o, 1), c = read_ids(line, "completion_input_ids", o, 1);
    s.ids = p;
    s.ids.insert(s.ids.end(), c.begin(), c.end());
    train_all(s);
    if (opt.completion_only_loss) std::fill(s.trained.begin(), s.trained.begin() + long(p.size()), 0);
  } else if (line.contains("messages")) {
    RenderedChat rc = r.conversation(line["messages"], tools_of(line), "messages", o);
    s.ids = std::move(rc.ids);
    if (!opt.assistant_only_loss) {
      train_all(s);
    } else {
      if (rc.assistant.empty())
        throw BadLine(o, "messages", "at least one assistant turn to train (assistant_only_loss)", "none");
      s.trained.assign(s.ids.size(), 0);
      for (size_t k = opt.last_assistant_only ? rc.assistant.size() - 1 : 0; k < rc.assistant.size(); ++k)
        for (size_t t = rc.assistant[k].first; t < rc.assistant[k].second; ++t) s.trained[t] = t > 0;
    }
  } else if (line.contains("prompt")) {
    if (!line.contains("completion")) throw BadLine(o, "completion", "the completion that goes with prompt", "nothing");
    std::vector<int32_t> p, c, glue;
    prompt_completion(line, "prompt", line["completion"], "completion", r, o, p, c, &glue);
    s.ids = p;
    s.ids.insert(s.ids.end(), c.begin(), c.end());
    s.ids.insert(s.ids.end(), glue.begin(), glue.end());
    train_all(s);
    if (opt.completion_only_loss) {
      std::fill(s.trained.begin(), s.trained.begin() + long(p.size()), 0);
      std::fill(s.trained.begin() + long(p.size() + c.size()), s.trained.end(), 0);
    }
  } else if (line.contains("text")) {
    s.ids = with_eos(r.encode(nonempty_string(line["text"], "text", o), true), r.eos_id());
    train_all(s);
  } else {
    throw BadLine(o, "", "an SFT shape: text, messages, prompt + completion, or input_ids", keys_of(line));
  }
  if (s.ids.size() < 2 || std::find(s.trained.begin(), s.trained.end(), uint8_t(1)) == s.trained.end())
    throw BadLine(o, "", "an example with at least one trained token", cat(s.ids.size(), " tokens, none trained"));
  if (!fit_sequence(s, opt.max_length, opt.truncation, o, stats)) return std::nullopt;
  count(stats, int64_t(s.ids.size()), int64_t(std::count(s.trained.begin(), s.trained.end(), uint8_t(1))));
  return ex;
}

std::optional<PreferenceExample> read_preference(const OrderedJson& line, const ChatRenderer& r,
                                                 const ShapeOptions& opt, const Origin& o, DataStats& stats) {
  PreferenceExample ex;
  ex.origin = o;
  if (line.contains("chosen_input_ids") || line.contains("rejected_input_ids")) {
    ex.prompt = read_ids(line, "prompt_input_ids", o, 1);
    ex.chosen = read_ids(line, "chosen_input_ids", o, 1);
    ex.rejected = read_ids(line, "rejected_input_ids", o, 1);
  } else {
    for (const char* k : {"chosen", "rejected"})
      if (!line.contains(k)) throw BadLine(o, k, "a preference pair: prompt, chosen and rejected (or chosen and rejected alone)", "nothing");
    OrderedJson l = line;  // an implicit prompt is made explicit here
    if (!line.contains("prompt")) {
      const OrderedJson &ch = line["chosen"], &rj = line["rejected"];
      if (ch.is_array() && rj.is_array()) {
        size_t k = 0;
        while (k < ch.size() && k < rj.size() && ch[k] == rj[k]) ++k;
        if (ch == rj) throw BadLine(o, "rejected", "a conversation different from chosen", "the same messages");
        if (k == 0)
          throw BadLine(o, "chosen", "conversations that share their first message(s) with rejected (the implicit prompt)",
                        "different first messages");
        if (k == ch.size() || k == rj.size())
          throw BadLine(o, k == ch.size() ? "chosen" : "rejected", "a completion after the common prompt",
                        "a conversation that ends where the other's prompt ends");
        l["prompt"] = OrderedJson::array();
        l["chosen"] = OrderedJson::array();
        l["rejected"] = OrderedJson::array();
        for (size_t i = 0; i < ch.size(); ++i) l[i < k ? "prompt" : "chosen"].push_back(ch[i]);
        for (size_t i = k; i < rj.size(); ++i) l["rejected"].push_back(rj[i]);
      } else if (ch.is_string() && rj.is_string()) {
        const std::string &a = ch.get_ref<const std::string&>(), &b = rj.get_ref<const std::string&>();
        if (a == b) throw BadLine(o, "rejected", "a completion different from chosen", "the same text");
        const size_t k = common_prefix(a, b);
        if (k == 0) throw BadLine(o, "chosen", "texts that start with a common prompt (the implicit prompt)", "no common prefix");
        l["prompt"] = a.substr(0, k);
        l["chosen"] = a.substr(k);
        l["rejected"] = b.substr(k);
      } else {
        throw BadLine(o, "rejected", cat("the same kind as chosen (", describe(ch), ")"), describe(rj));
      }
    }
    std::vector<int32_t> p2;
    prompt_completion(l, "prompt", l["chosen"], "chosen", r, o, ex.prompt, ex.chosen, nullptr);
    prompt_completion(l, "prompt", l["rejected"], "rejected", r, o, p2, ex.rejected, nullptr);
    if (p2 != ex.prompt)
      throw BadLine(o, "prompt", "the same prompt tokens before chosen and before rejected",
                    "different tokenizations (the chat template renders the prompt differently)");
  }
  if (ex.chosen == ex.rejected)
    throw BadLine(o, "rejected", "a completion different from chosen", cat("the same ", ex.chosen.size(), " tokens"));
  if (line.contains("margin")) {
    if (!line["margin"].is_number()) throw BadLine(o, "margin", "a number", describe(line["margin"]));
    ex.margin = line["margin"].get<double>();
  }
  if (!fit_pair(ex.prompt, {&ex.chosen, &ex.rejected}, opt.max_length, opt.max_prompt_length, opt.truncation, o, stats)) return std::nullopt;
  count(stats, int64_t(ex.prompt.size() + ex.chosen.size() + ex.rejected.size()), int64_t(ex.chosen.size() + ex.rejected.size()));
  return ex;
}

std::optional<UnpairedExample> read_unpaired(const OrderedJson& line, const ChatRenderer& r, const ShapeOptions& opt,
                                             const Origin& o, DataStats& stats) {
  UnpairedExample ex;
  ex.origin = o;
  if (!line.contains("label")) throw BadLine(o, "label", "true or false (is the completion desirable)", "nothing");
  if (!line["label"].is_boolean()) throw BadLine(o, "label", "true or false", describe(line["label"]));
  ex.label = line["label"].get<bool>();
  if (line.contains("completion_input_ids")) {
    ex.prompt = read_ids(line, "prompt_input_ids", o, 1);
    ex.completion = read_ids(line, "completion_input_ids", o, 1);
  } else {
    for (const char* k : {"prompt", "completion"})
      if (!line.contains(k)) throw BadLine(o, k, "an unpaired example: prompt, completion and label", "nothing");
    prompt_completion(line, "prompt", line["completion"], "completion", r, o, ex.prompt, ex.completion, nullptr);
  }
  if (!fit_pair(ex.prompt, {&ex.completion}, opt.max_length, opt.max_prompt_length, opt.truncation, o, stats)) return std::nullopt;
  count(stats, int64_t(ex.prompt.size() + ex.completion.size()), int64_t(ex.completion.size()));
  return ex;
}

std::optional<PromptExample> read_prompt(const OrderedJson& line, const ChatRenderer& r, const ShapeOptions& opt,
                                         const Origin& o, DataStats& stats) {
  PromptExample ex;
  ex.origin = o;
  // Pre-tokenized: TRL's prompt_input_ids, or input_ids as the online trainer has always read them.
  const char* ids_key = line.contains("prompt") ? nullptr
                        : line.contains("prompt_input_ids") ? "prompt_input_ids"
                        : line.contains("input_ids")        ? "input_ids"
                                                            : nullptr;
  if (ids_key) {
    ex.prompt = read_ids(line, ids_key, o, 1);
    if (r.has_tokenizer()) ex.prompt_text = r.tokenizer().decode(ex.prompt);
    for (const char* k : {"completion_input_ids", "demonstration_ids"}) {
      if (!line.contains(k)) continue;
      ex.demonstration = read_ids(line, k, o, 1);
      if (r.has_tokenizer()) ex.demonstration_text = r.tokenizer().decode(ex.demonstration);
      break;
    }
  } else if (line.contains("prompt")) {
    const OrderedJson& p = line["prompt"];
    const OrderedJson* demo = nullptr;
    if (line.contains("completion")) demo = &line["completion"];
    else if (line.contains("solution") && line["solution"].is_string() && !line["solution"].get<std::string>().empty())
      demo = &line["solution"];
    const std::string demo_field = demo == nullptr ? "" : line.contains("completion") ? "completion" : "solution";
    if (p.is_string()) {
      ex.prompt_text = p.get<std::string>();
      if (ex.prompt_text.empty()) throw BadLine(o, "prompt", "a non-empty string", "''");
      ex.prompt = r.encode(ex.prompt_text, true);
      if (demo) {
        ex.demonstration_text = nonempty_string(*demo, demo_field, o);
        ex.demonstration = with_eos(r.encode(ex.demonstration_text, false), r.eos_id());
      }
    } else if (p.is_array()) {
      ex.prompt = r.prompt(p, tools_of(line), "prompt", o, &ex.prompt_text);
      if (demo) {
        // Prompt ids from the same pieces as the demonstration, so prompt + demonstration is
        // exactly the sequence an SFT step on this conversation would see.
        prompt_completion(line, "prompt", *demo, demo_field, r, o, ex.prompt, ex.demonstration, nullptr);
        ex.demonstration_text = r.tokenizer().decode(ex.demonstration);
      }
    } else {
      throw BadLine(o, "prompt", "a string or a list of messages", describe(p));
    }
  } else {
    throw BadLine(o, "prompt", "a prompt (a string or a list of messages) or prompt_input_ids", "nothing");
  }
  for (auto it = line.begin(); it != line.end(); ++it)
    if (it.key() != "prompt" && it.key() != "prompt_input_ids" && !(ids_key && it.key() == ids_key))
      ex.columns[it.key()] = to_json(it.value());
  if (!fit_prompt(ex.prompt, ex.demonstration, opt.max_length, opt.max_prompt_length, opt.truncation, o, stats)) return std::nullopt;
  count(stats, int64_t(ex.prompt.size() + ex.demonstration.size()), int64_t(ex.demonstration.size()));
  return ex;
}

}  // namespace tandem::data
