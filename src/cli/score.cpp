// `tandem score --model DIR --data in.jsonl [--out out.jsonl]`: the scalar reward of a reward model
// (a *ForSequenceClassification folder) for each line, read at the last non-padding token as
// transformers reads it (train/pref_collate.h reward_position). A line is {"input_ids": [...]},
// {"text": "..."} (encoded with the tokenizer's special tokens), {"messages": [...]} (the chat
// template without a generation prompt, as TRL renders a conversation for its reward trainer), or
// {"prompt", "completion"} (two texts joined, or two message lists concatenated).
// Writes one {"score": r} per input line, in order. Not here: pairwise comparison, batching by length.
#include <cstdio>

#include "cli/command.h"
#include "core/file.h"
#include "core/json.h"
#include "data/input_ids.h"
#include "model/decoder.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"
#include "train/pref_collate.h"

namespace tandem::cli {
namespace {

struct Opts {
  std::string model, data, out;
  int64_t batch_size = 8;
};

class TextEncoder {
 public:
  explicit TextEncoder(std::string dir) : dir_(std::move(dir)) {}
  std::vector<int32_t> encode(const tokenizer::OrderedJson& line, const std::string& origin) {
    if (line.contains("messages")) return chat(line["messages"], origin);
    if (line.contains("prompt") && line.contains("completion")) {
      const auto &p = line["prompt"], &c = line["completion"];
      if (p.is_string() && c.is_string()) return tok().encode(p.get<std::string>() + c.get<std::string>(), true);
      if (p.is_array() && c.is_array()) {
        tokenizer::OrderedJson all = p;
        for (const auto& m : c) all.push_back(m);
        return chat(all, origin);
      }
      throw Error("score.data", cat(origin, ": prompt and completion must both be texts or both message lists"));
    }
    if (line.contains("text") && line["text"].is_string()) return tok().encode(line["text"].get<std::string>(), true);
    throw Error("score.data", cat(origin, ": expected input_ids, text, messages, or prompt + completion"));
  }

 private:
  std::vector<int32_t> chat(const tokenizer::OrderedJson& msgs, const std::string& origin) {
    if (!msgs.is_array()) throw Error("score.data", cat(origin, ": messages must be a list"));
    if (!tmpl_) tmpl_ = std::make_unique<tokenizer::ChatTemplate>(tokenizer::ChatTemplate::from_dir(dir_));
    tokenizer::ChatInput in;
    in.messages = msgs;
    in.add_generation_prompt = false;
    return tok().encode(tmpl_->render(in).text, false);
  }
  const tokenizer::Tokenizer& tok() {
    if (!tok_) {
      if (!file_exists(join_path(dir_, "tokenizer.json")))
        throw Error("score.data", cat("text lines need a tokenizer: no tokenizer.json in '", dir_, "'; give input_ids lines instead"));
      tok_ = std::make_unique<tokenizer::Tokenizer>(tokenizer::Tokenizer::from_dir(dir_));
    }
    return *tok_;
  }
  std::string dir_;
  std::unique_ptr<tokenizer::Tokenizer> tok_;
  std::unique_ptr<tokenizer::ChatTemplate> tmpl_;
};

int run(const Opts& o) {
  if (o.batch_size < 1) throw Error("score.batch_size", cat("expected >= 1, got ", o.batch_size));
  auto dec = model::Decoder::load(o.model);
  const auto& cfg = dec->config();
  if (!cfg.sequence_classification)
    throw Error("score.model", cat("'", o.model, "' is a ", cfg.architecture,
                                   ", expected a *ForSequenceClassification reward model (train one with tandem rm)"));
  TextEncoder enc(o.model);
  std::vector<std::vector<int32_t>> seqs;
  data::for_each_jsonl_line(o.data, "score.data", [&](const Json& j, const std::string& origin, const std::string& raw) {
    if (j.is_object() && j.contains("input_ids")) seqs.push_back(data::parse_input_ids(j, origin, cfg.vocab_size, 1, "score.data"));
    else seqs.push_back(enc.encode(tokenizer::OrderedJson::parse(raw), origin));
    if (seqs.back().empty()) throw Error("score.data", cat(origin, ": encodes to no tokens"));
    for (int32_t t : seqs.back())
      if (t >= cfg.vocab_size) throw Error("score.data", cat(origin, ": token id ", t, " outside the vocabulary"));
  });
  train::CollateOptions co;
  co.max_length = cfg.max_position_embeddings;
  co.pad_token_id = cfg.pad_token_id;
  std::string text;
  for (size_t i = 0; i < seqs.size(); i += size_t(o.batch_size)) {
    std::vector<train::SeqRef> refs;
    for (size_t j = i; j < std::min(seqs.size(), i + size_t(o.batch_size)); ++j) refs.push_back({seqs[j], {}});
    const auto pb = train::collate(refs, co);
    const auto out = dec->forward(pb.tokens, {.value = true});
    for (int64_t s = 0; s < pb.n_seq(); ++s) text += Json({{"score", out.value.f32()[pb.index[pb.reward_at[s]]]}}).dump() + "\n";
  }
  if (o.out.empty()) std::fwrite(text.data(), 1, text.size(), stdout);
  else write_file_atomic(o.out, text);
  return 0;
}

Registrar reg({"score", "score texts or token sequences with a reward model (a *ForSequenceClassification folder)", [](CLI::App& sub) {
                 auto o = std::make_shared<Opts>();
                 sub.add_option("--model", o->model, "reward model folder")->required();
                 sub.add_option("--data", o->data, "JSONL: input_ids | text | messages | prompt + completion per line")->required();
                 sub.add_option("--out", o->out, "JSONL output (default: stdout)");
                 sub.add_option("--batch-size", o->batch_size, "sequences per forward")->capture_default_str();
                 return std::function<int()>([o] { return run(*o); });
               }});

}  // namespace
}  // namespace tandem::cli
