// See added_tokens.h. lstrip/rstrip widen a match over neighbouring whitespace; single_word drops a
// match that touches a word character on either side (word = alphanumeric or '_'), as in the crate.
#include "tokenizer/added_tokens.h"

#include "core/log.h"
#include "tokenizer/unicode.h"

#include <algorithm>

namespace tandem::tokenizer {

void AddedTokens::Trie::add(std::string_view s, int32_t token_index) {
  if (s.empty()) return;
  first_byte[static_cast<unsigned char>(s[0])] = true;
  uint64_t node = 0;
  for (unsigned char c : s) {
    uint64_t child;
    if (!edges.find((node << 8) | c, &child)) {
      child = terminal.size();
      terminal.push_back(-1);
      edges.insert((node << 8) | c, child);
    }
    node = child;
  }
  if (terminal[node] < 0) terminal[node] = token_index;
}

int32_t AddedTokens::Trie::longest(std::string_view s, size_t i, size_t* len) const {
  if (!first_byte[static_cast<unsigned char>(s[i])]) return -1;
  uint64_t node = 0;
  int32_t best = -1;
  for (size_t k = i; k < s.size(); ++k) {
    uint64_t child;
    if (!edges.find((node << 8) | static_cast<unsigned char>(s[k]), &child)) break;
    node = child;
    if (terminal[node] >= 0) {
      best = terminal[node];
      *len = k + 1 - i;
    }
  }
  return best;
}

AddedTokens::AddedTokens(const Json& j, const Normalizer* normalizer, const Vocab& vocab, const std::string& where,
                         const std::string& origin) {
  const int64_t model_size = int64_t(vocab.size());
  int64_t max_added = -1;
  if (j.is_null()) return;
  if (!j.is_array()) throw Error(where, cat("expected an array, got ", json_type_name(j), " (", origin, ")"));
  for (size_t k = 0; k < j.size(); ++k) {
    const std::string w = cat(where, "[", k, "]");
    AddedToken t;
    const int64_t id = json_int(j[k], "id", w, origin);
    if (id < 0 || id > INT32_MAX) throw Error(w + ".id", cat("expected a non-negative id, got ", id, " (", origin, ")"));
    t.content = json_string(j[k], "content", w, origin);
    if (t.content.empty()) throw Error(w + ".content", cat("expected a non-empty string (", origin, ")"));
    if (const AddedToken* dup = by_content(t.content)) {
      if (dup->id != id) log_warn("[", w, "] token \"", t.content, "\" is listed twice; keeping id ", dup->id, " (", origin, ")");
      continue;
    }
    int64_t assigned = vocab.find(t.content);
    if (assigned < 0)
      assigned = max_added < 0 ? model_size : (max_added >= model_size || model_size == 0 ? max_added + 1 : model_size);
    if (assigned != id)
      log_warn("[", w, ".id] token \"", t.content, "\" is given id ", id, " but loads as id ", assigned,
               ", as in the Rust tokenizers crate (", origin, ")");
    max_added = std::max(max_added, assigned);
    t.id = int32_t(assigned);
    t.special = json_bool_or(j[k], "special", false, w, origin);
    t.lstrip = json_bool_or(j[k], "lstrip", false, w, origin);
    t.rstrip = json_bool_or(j[k], "rstrip", false, w, origin);
    t.single_word = json_bool_or(j[k], "single_word", false, w, origin);
    t.normalized = json_bool_or(j[k], "normalized", !t.special, w, origin);
    const int32_t index = int32_t(tokens_.size());
    by_id_.insert(uint64_t(t.id), uint64_t(index));
    by_content_.emplace(t.content, index);
    if (t.normalized && normalizer) {
      std::string c = t.content;
      normalizer->normalize(c);
      normalized_.add(c, index);
    } else if (t.normalized) {
      normalized_.add(t.content, index);
    } else {
      raw_.add(t.content, index);
    }
    tokens_.push_back(std::move(t));
  }
}

const AddedToken* AddedTokens::by_id(int32_t id) const {
  uint64_t v;
  return by_id_.find(uint64_t(uint32_t(id)), &v) ? &tokens_[v] : nullptr;
}

const AddedToken* AddedTokens::by_content(std::string_view s) const {
  auto it = by_content_.find(s);
  return it == by_content_.end() ? nullptr : &tokens_[size_t(it->second)];
}

namespace {
bool is_word_char(uint32_t cp) { return cp == '_' || is_alphanumeric(cp); }

uint32_t last_char(std::string_view s) {
  size_t k = s.size() - 1;
  while (k > 0 && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
  return utf8_next(s, k);
}
}  // namespace

void AddedTokens::find(std::string_view s, const Trie& trie, bool at_start, bool normalize,
                       const Normalizer* normalizer, std::vector<Segment>& out) const {
  auto emit_text = [&](size_t b, size_t e) {
    Segment seg;
    seg.text.assign(s.substr(b, e - b));
    seg.at_start = at_start && b == 0;
    if (normalize && normalizer) normalizer->normalize(seg.text);
    out.push_back(std::move(seg));
  };
  size_t done = 0;  // end of the last emitted segment
  if (trie.terminal.size() > 1) {
    for (size_t i = 0; i < s.size();) {
      size_t len = 0;
      const int32_t idx = trie.longest(s, i, &len);
      if (idx < 0) {
        ++i;
        continue;
      }
      const AddedToken& t = tokens_[size_t(idx)];
      size_t start = i, stop = i + len;
      i = stop;
      if (t.single_word) {
        const bool left_ok = start == 0 || !is_word_char(last_char(s.substr(0, start)));
        size_t k = stop;
        const bool right_ok = stop == s.size() || !is_word_char(utf8_next(s, k));
        if (!left_ok || !right_ok) continue;
      }
      if (t.lstrip) {
        size_t b = start;
        while (b > done) {
          size_t k = b - 1;
          while (k > done && (static_cast<unsigned char>(s[k]) & 0xC0) == 0x80) --k;
          size_t kk = k;
          if (!is_whitespace(utf8_next(s, kk))) break;
          b = k;
        }
        start = b;
      }
      if (t.rstrip) {
        while (stop < s.size()) {
          size_t k = stop;
          if (!is_whitespace(utf8_next(s, k))) break;
          stop = k;
        }
        i = stop;
      }
      if (done < start) emit_text(done, start);
      Segment tok;
      tok.id = t.id;
      out.push_back(std::move(tok));
      done = stop;
    }
  }
  if (done < s.size() || s.empty()) emit_text(done, s.size());
}

void AddedTokens::split(std::string_view text, const Normalizer* normalizer, std::vector<Segment>& out) const {
  out.clear();
  std::vector<Segment> raw;
  find(text, raw_, true, true, normalizer, raw);
  if (normalized_.terminal.size() <= 1) {
    out.swap(raw);
    return;
  }
  for (auto& seg : raw) {
    if (seg.id >= 0) out.push_back(std::move(seg));
    else find(seg.text, normalized_, seg.at_start, false, nullptr, out);
  }
}

}  // namespace tandem::tokenizer
