// See tokenizer.h. Loading validates the whole tokenizer.json up front (every error names its JSON
// path), so encode/decode only fail on inputs, never on configuration.
#include "tokenizer/tokenizer.h"

#include <omp.h>

#include <exception>

#include "core/file.h"
#include "tokenizer/added_tokens.h"
#include "tokenizer/decoder.h"
#include "tokenizer/model.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/post_processor.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/unicode.h"

namespace tandem::tokenizer {

struct Tokenizer::Impl {
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  std::unique_ptr<Model> model;
  std::unique_ptr<PostProcessor> post_processor;
  std::unique_ptr<Decoder> decoder;
  AddedTokens added;
  TokenizerConfig config;
  size_t vocab_size = 0;
};

Tokenizer Tokenizer::from_json(const Json& j, const std::string& origin, TokenizerConfig config) {
  const std::string w = "tokenizer";
  if (!j.is_object()) throw Error(w, cat("expected a JSON object, got ", json_type_name(j), " (", origin, ")"));
  auto impl = std::make_shared<Impl>();
  auto field = [&](const char* key) -> const Json& {
    static const Json null;
    auto it = j.find(key);
    return it == j.end() ? null : *it;
  };
  impl->normalizer = make_normalizer(field("normalizer"), w + ".normalizer", origin);
  impl->pre_tokenizer = make_pre_tokenizer(field("pre_tokenizer"), w + ".pre_tokenizer", origin);
  impl->model = make_model(json_field(j, "model", w, origin), w + ".model", origin);
  impl->post_processor = make_post_processor(field("post_processor"), w + ".post_processor", origin);
  impl->decoder = make_decoder(field("decoder"), w + ".decoder", origin);
  impl->added = AddedTokens(field("added_tokens"), impl->normalizer.get(), impl->model->vocab(), w + ".added_tokens",
                            origin);
  impl->config = std::move(config);
  impl->vocab_size = impl->model->vocab().to_token.size();
  for (const auto& t : impl->added.tokens()) impl->vocab_size = std::max(impl->vocab_size, size_t(t.id) + 1);
  return Tokenizer(std::move(impl));
}

Tokenizer Tokenizer::from_file(const std::string& path) {
  return from_json(read_json_file(path, "tokenizer"), path, TokenizerConfig{});
}

Tokenizer Tokenizer::from_dir(const std::string& dir) {
  const std::string path = join_path(dir, "tokenizer.json");
  if (!file_exists(path))
    throw Error("tokenizer", cat("no tokenizer.json in ", dir, ", expected a Hugging Face model folder"));
  return from_json(read_json_file(path, "tokenizer"), path,
                   TokenizerConfig::from_file(join_path(dir, "tokenizer_config.json")));
}

const TokenizerConfig& Tokenizer::config() const { return impl_->config; }
size_t Tokenizer::vocab_size() const { return impl_->vocab_size; }

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special) const {
  const Impl& m = *impl_;
  // The regex engine is run without its own UTF-8 check (it would rescan every piece), so invalid
  // input is refused here, once.
  const size_t valid = utf8_valid_prefix(text);
  if (valid != text.size())
    throw Error("tokenizer.encode", cat("text is not valid UTF-8, expected a valid sequence at byte offset ", valid));
  thread_local std::vector<Segment> segments;
  thread_local std::vector<Piece> pieces;
  m.added.split(text, m.normalizer.get(), segments);
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  for (auto& seg : segments) {
    if (seg.id >= 0) {
      ids.push_back(seg.id);
      continue;
    }
    if (seg.text.empty()) continue;
    pieces.clear();
    pieces.push_back({std::move(seg.text), seg.at_start});
    if (m.pre_tokenizer) m.pre_tokenizer->pre_tokenize(pieces);
    for (const auto& p : pieces) m.model->tokenize(p.text, ids);
  }
  if (add_special && m.post_processor) m.post_processor->process(ids);
  return ids;
}

std::vector<std::vector<int32_t>> Tokenizer::encode_batch(const std::vector<std::string>& texts, bool add_special,
                                                          int threads) const {
  std::vector<std::vector<int32_t>> out(texts.size());
  std::exception_ptr error;
  const int n = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 4) num_threads(n)
  for (size_t k = 0; k < texts.size(); ++k) {
    try {
      out[k] = encode(texts[k], add_special);
    } catch (...) {  // an exception may not cross the OpenMP region; rethrown below
#pragma omp critical(tandem_tokenizer_batch_error)
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special) const {
  const Impl& m = *impl_;
  const auto& to_token = m.model->vocab().to_token;
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (int32_t id : ids) {
    if (const AddedToken* t = m.added.by_id(id)) {
      if (!(skip_special && t->special)) tokens.push_back(t->content);
    } else if (id >= 0 && size_t(id) < to_token.size() && !to_token[size_t(id)].empty()) {
      tokens.push_back(to_token[size_t(id)]);
    }
  }
  if (!m.decoder) {
    std::string out;
    for (size_t k = 0; k < tokens.size(); ++k) out += (k ? " " : "") + tokens[k];
    return out;
  }
  m.decoder->decode_chain(tokens);
  std::string out;
  for (const auto& t : tokens) out += t;
  return out;
}

int32_t Tokenizer::token_to_id(std::string_view token) const {
  if (const AddedToken* t = impl_->added.by_content(token)) return t->id;
  return impl_->model->vocab().find(token);
}

std::optional<std::string> Tokenizer::id_to_token(int32_t id) const {
  if (const AddedToken* t = impl_->added.by_id(id)) return t->content;
  const auto& to_token = impl_->model->vocab().to_token;
  if (id >= 0 && size_t(id) < to_token.size() && !to_token[size_t(id)].empty()) return to_token[size_t(id)];
  return std::nullopt;
}

bool Tokenizer::is_special(int32_t id) const {
  const AddedToken* t = impl_->added.by_id(id);
  return t && t->special;
}

namespace {
bool ends_with_replacement(const std::string& s) {
  return s.size() >= 3 && s.compare(s.size() - 3, 3, "\xEF\xBF\xBD") == 0;
}
}  // namespace

std::string StreamDecoder::step(int32_t id) {
  if (prefix_.empty() && !ids_.empty()) {
    std::string p = tok_.decode(ids_, skip_special_);
    if (!ends_with_replacement(p)) {
      prefix_ = std::move(p);
      prefix_index_ = ids_.size();
    }
  }
  ids_.push_back(id);
  std::string text = tok_.decode(ids_, skip_special_);
  if (text.size() <= prefix_.size() || ends_with_replacement(text)) return "";
  if (text.compare(0, prefix_.size(), prefix_) != 0) {
    // A decoder rewrote earlier text (should not happen with HF decoders): emit the difference
    // from the first changed byte on is impossible, so restart the window and emit everything new.
    ids_.assign(1, id);
    prefix_.clear();
    prefix_index_ = 0;
    return tok_.decode(ids_, skip_special_);
  }
  std::string out = text.substr(prefix_.size());
  const size_t new_prefix_index = ids_.size() - prefix_index_;
  ids_.erase(ids_.begin(), ids_.begin() + ptrdiff_t(prefix_index_));
  prefix_ = tok_.decode(ids_, skip_special_);
  prefix_index_ = new_prefix_index;
  return out;
}

std::string StreamDecoder::flush() {
  std::string text = tok_.decode(ids_, skip_special_);
  std::string out = text.size() > prefix_.size() ? text.substr(prefix_.size()) : "";
  ids_.clear();
  prefix_.clear();
  prefix_index_ = 0;
  return out;
}

}  // namespace tandem::tokenizer
