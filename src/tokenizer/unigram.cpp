// Unigram language-model tokenization (SentencePiece "unigram", as in the Rust crate): Viterbi over
// the pieces that start at each character, scoring by the sum of piece log-probabilities; a
// character no piece covers costs (lowest score - 10) and consecutive unknowns fuse into one token,
// which byte_fallback then spells as <0xXX> pieces when the vocab has them.
// Not here: the Precompiled normalizer most SentencePiece exports carry (normalizer.cpp names it).
#include <cmath>
#include <limits>

#include "tokenizer/component_json.h"
#include "tokenizer/flat_map.h"
#include "tokenizer/model.h"
#include "tokenizer/unicode.h"

namespace tandem::tokenizer {

namespace {

constexpr double kUnkPenalty = 10.0;

class Unigram : public Model {
 public:
  Unigram(const Json& j, const std::string& where, const std::string& origin) {
    const Json& v = json_array(j, "vocab", where, origin);
    std::vector<std::string> tokens;
    tokens.reserve(v.size());
    scores_.reserve(v.size());
    double min_score = std::numeric_limits<double>::infinity();
    for (size_t k = 0; k < v.size(); ++k) {
      if (!v[k].is_array() || v[k].size() != 2 || !v[k][0].is_string() || !v[k][1].is_number())
        throw Error(cat(where, ".vocab[", k, "]"), cat("expected [piece, score], got ", v[k].dump(), " (", origin, ")"));
      tokens.push_back(v[k][0].get<std::string>());
      scores_.push_back(v[k][1].get<double>());
      min_score = std::min(min_score, scores_.back());
    }
    unk_score_ = min_score - kUnkPenalty;
    vocab_ = Vocab::from_tokens(tokens);
    const int64_t unk = json_int_or(j, "unk_id", -1, where, origin);
    if (unk >= int64_t(tokens.size()))
      throw Error(where + ".unk_id", cat("expected an index into ", where, ".vocab (size ", tokens.size(), "), got ",
                                         unk, " (", origin, ")"));
    unk_id_ = int32_t(unk);
    byte_fallback_ = json_bool_or(j, "byte_fallback", false, where, origin);
    nodes_.reserve(tokens.size() * 4);
    terminal_.push_back(-1);
    for (size_t id = 0; id < tokens.size(); ++id) add(tokens[id], int32_t(id));
  }

  void tokenize(std::string_view w, std::vector<int32_t>& out) const override {
    if (w.empty()) return;
    struct Best {
      double score = 0;
      int32_t start = -1;  // -1: not reached yet
      int32_t id = -1;
    };
    std::vector<Best> best(w.size() + 1);
    best[0].start = 0;
    for (size_t start = 0; start < w.size();) {
      const size_t mblen = size_t(utf8_len(static_cast<unsigned char>(w[start])));
      const double base = best[start].score;
      bool single = false;
      uint64_t node = 0;
      for (size_t k = start; k < w.size(); ++k) {
        uint64_t child;
        if (!nodes_.find((node << 8) | static_cast<unsigned char>(w[k]), &child)) break;
        node = child;
        const int32_t id = terminal_[node];
        if (id < 0) continue;
        Best& t = best[k + 1];
        const double s = base + scores_[size_t(id)];
        if (t.start < 0 || s > t.score) t = {s, int32_t(start), id};
        if (k + 1 - start == mblen) single = true;
      }
      if (!single) {
        if (unk_id_ < 0)
          throw Error("tokenizer.model.unk_id",
                      cat("the text has a character no Unigram piece covers and the model has no unk_id"));
        Best& t = best[start + mblen];
        const double s = base + unk_score_;
        if (t.start < 0 || s > t.score) t = {s, int32_t(start), unk_id_};
      }
      start += mblen;
    }
    // Walk back, fusing runs of unknowns into one piece of text.
    std::vector<std::pair<size_t, size_t>> pieces;  // [begin, end) in reverse order
    size_t end = w.size();
    size_t unk_end = 0;
    bool in_unk = false;
    while (end > 0) {
      const Best& b = best[end];
      const size_t begin = size_t(b.start);
      if (b.id == unk_id_) {
        if (!in_unk) unk_end = end;
        in_unk = true;
      } else {
        if (in_unk) pieces.emplace_back(end, unk_end);
        in_unk = false;
        pieces.emplace_back(begin, end);
      }
      end = begin;
    }
    if (in_unk) pieces.emplace_back(0, unk_end);
    for (size_t k = pieces.size(); k-- > 0;) {
      const std::string_view piece = w.substr(pieces[k].first, pieces[k].second - pieces[k].first);
      const int32_t id = vocab_.find(piece);
      if (id >= 0) {
        out.push_back(id);
        continue;
      }
      if (byte_fallback_ && spell_bytes(piece, out)) continue;
      out.push_back(unk_id_);
    }
  }

 private:
  void add(std::string_view s, int32_t id) {
    uint64_t node = 0;
    for (unsigned char c : s) {
      uint64_t child;
      if (!nodes_.find((node << 8) | c, &child)) {
        child = terminal_.size();
        terminal_.push_back(-1);
        nodes_.insert((node << 8) | c, child);
      }
      node = child;
    }
    if (node != 0) terminal_[node] = id;
  }

  bool spell_bytes(std::string_view piece, std::vector<int32_t>& out) const {
    const size_t mark = out.size();
    for (unsigned char c : piece) {
      char name[8];
      std::snprintf(name, sizeof(name), "<0x%02X>", c);
      const int32_t id = vocab_.find(name);
      if (id < 0) {
        out.resize(mark);
        return false;
      }
      out.push_back(id);
    }
    return true;
  }

  std::vector<double> scores_;
  double unk_score_ = 0;
  int32_t unk_id_ = -1;
  bool byte_fallback_ = false;
  FlatMap nodes_;                  // trie edges: (node << 8 | byte) -> child
  std::vector<int32_t> terminal_;  // node -> piece id, or -1
};

}  // namespace

std::unique_ptr<Model> make_unigram(const Json& j, const std::string& where, const std::string& origin) {
  return std::make_unique<Unigram>(j, where, origin);
}

}  // namespace tandem::tokenizer
