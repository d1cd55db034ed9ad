// Conversations and prompts to token ids through a model folder's tokenizer and chat template,
// with the token span of every assistant turn, exactly:
//  - the whole conversation is rendered once (text F);
//  - each assistant turn starts where the rendering of the messages before it with the
//    generation prompt (P_i) ends; P_i must be a prefix of F (checked), which holds for Qwen3
//    (whose template drops only the reasoning of turns *before the last user message*, and the
//    generation prompt never renders those differently) and Llama 3;
//  - F is tokenized in pieces cut at those starts, so the prompt tokens of each turn are the
//    tokens inference sees (encode(P_i)) and no token straddles a turn start;
//  - an assistant turn ends with the first special token of its piece (<|im_end|>, <|eot_id|>,
//    ...), which is trained; template glue after it (a newline) is not.
// With {% generation %} blocks in the template, their spans are used instead.
// Not here: which turns are trained (data/shapes.cpp), truncation, files.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "data/bad_line.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/tokenizer.h"

namespace tandem::data {

struct RenderedChat {
  std::vector<int32_t> ids;
  std::vector<std::pair<size_t, size_t>> assistant;  // token spans [begin, end), one per assistant turn
  std::string text;                                  // the rendered conversation
};

// The ids after a prompt: render(prompt + completion) minus render(prompt, generation prompt).
struct Continuation {
  std::vector<int32_t> prompt, completion;
  size_t n_trained = 0;  // completion[0, n_trained): through the end of its last assistant turn
};

class ChatRenderer {
 public:
  // dir: a model folder. Without tokenizer.json only pre-tokenized data can be read; without a
  // chat template only non-conversational data (the error says so when it is needed).
  explicit ChatRenderer(const std::string& dir);
  // One renderer per folder while any user holds it (loading a tokenizer.json takes ~0.5 s):
  // the train and eval datasets of a run, or many datasets in tests, share it.
  static std::shared_ptr<const ChatRenderer> shared(const std::string& dir);

  bool has_tokenizer() const { return tok_.has_value(); }
  const tokenizer::Tokenizer& tokenizer() const;
  const tokenizer::ChatTemplate& chat_template() const;
  int32_t eos_id() const { return tok_ ? tok_->eos_id() : -1; }

  // Checks roles and contents (field: "messages" or "prompt", ...): BadLine on an unknown role,
  // a wrong type or an empty assistant turn.
  void check_messages(const OrderedJson& msgs, const std::string& field, const Origin& origin) const;
  RenderedChat conversation(const OrderedJson& msgs, const OrderedJson& tools, const std::string& field,
                            const Origin& origin) const;
  // The prompt rendered with the generation prompt; text gets the rendered string.
  std::vector<int32_t> prompt(const OrderedJson& msgs, const OrderedJson& tools, const std::string& field,
                              const Origin& origin, std::string* text) const;
  Continuation continuation(const OrderedJson& prompt, const OrderedJson& completion, const OrderedJson& tools,
                            const std::string& field, const Origin& origin) const;
  // Raw text; add_special: what tokenizer.json's post-processor adds (BOS for Llama 3).
  std::vector<int32_t> encode(const std::string& text, bool add_special) const;

 private:
  std::string render(const OrderedJson& msgs, const OrderedJson& tools, bool gen, const std::string& field,
                     const Origin& origin, std::vector<tokenizer::Span>* generation = nullptr) const;
  std::string dir_;
  std::optional<tokenizer::Tokenizer> tok_;
  std::optional<tokenizer::ChatTemplate> tmpl_;
  std::string tok_error_, tmpl_error_;
};

}  // namespace tandem::data
