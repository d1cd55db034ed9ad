// Post-processors of tokenizer.json ("post_processor"): TemplateProcessing, RobertaProcessing,
// BertProcessing, ByteLevel (a no-op on ids) and Sequence. They add special tokens around one
// encoded sequence when the caller asks for special tokens.
// Not here: pairs of sequences (Tandem encodes one text at a time; "pair" templates are read but unused),
// offsets and type ids.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/json.h"

namespace tandem::tokenizer {

class PostProcessor {
 public:
  virtual ~PostProcessor() = default;
  // Adds the special tokens of a single sequence around ids.
  virtual void process(std::vector<int32_t>& ids) const = 0;
};

std::unique_ptr<PostProcessor> make_post_processor(const Json& j, const std::string& where, const std::string& origin);

}  // namespace tandem::tokenizer
