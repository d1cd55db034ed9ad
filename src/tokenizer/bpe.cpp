// See bpe.h. Merge order: repeatedly merge the adjacent pair with the lowest merge rank, leftmost
// first on ties, until no pair has a rank; this is the crate's priority-queue order. Short words
// use a rescan (cheaper than a heap below ~24 symbols), long ones a heap with lazy invalidation.
#include "tokenizer/bpe.h"

#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstring>
#include <memory>
#include <queue>
#include <unordered_map>

#include "tokenizer/component_json.h"
#include "tokenizer/unicode.h"

namespace tandem::tokenizer {

namespace {
std::atomic<uint64_t> g_next_instance{1};

// Per-thread word caches, one per BPE instance; cleared when full rather than evicting (as the crate).
constexpr size_t kCacheCapacity = 1 << 16;
constexpr size_t kCacheMaxWord = 256;

// word -> ids, open addressing over one flat arena: a hit costs one hash, one slot and one memcmp.
// Full -> cleared, not evicted (the crate does the same with its capacity).
class WordCache {
 public:
  // Starts small (one cache exists per thread and BPE instance) and doubles up to the capacity.
  WordCache() : slots_(1024, 0), mask_(1023) {}
  // Returns the ids of word or nullptr; *h receives the hash for a following put().
  const int32_t* get(std::string_view word, uint64_t* h, size_t* n) const {
    *h = std::hash<std::string_view>{}(word) | 1;  // never 0, which marks an empty slot
    for (size_t i = *h & mask_;; i = (i + 1) & mask_) {
      const uint64_t v = slots_[i];
      if (v == 0) return nullptr;
      const Entry& e = entries_[v >> 32];
      if (e.hash == *h && e.key_len == word.size() &&
          std::memcmp(arena_.data() + e.key_off, word.data(), word.size()) == 0) {
        *n = e.ids_len;
        return ids_.data() + e.ids_off;
      }
    }
  }
  void put(std::string_view word, uint64_t h, const int32_t* ids, size_t n) {
    if (entries_.size() >= kCacheCapacity) {
      std::fill(slots_.begin(), slots_.end(), 0);
      entries_.clear();
      arena_.clear();
      ids_.clear();
    } else if ((entries_.size() + 1) * 2 > slots_.size()) {
      slots_.assign(slots_.size() * 2, 0);
      mask_ = slots_.size() - 1;
      for (size_t e = 0; e < entries_.size(); ++e) place(entries_[e].hash, e);
    }
    place(h, entries_.size());
    entries_.push_back({h, uint32_t(arena_.size()), uint32_t(word.size()), uint32_t(ids_.size()), uint32_t(n)});
    arena_.append(word);
    ids_.insert(ids_.end(), ids, ids + n);
  }

 private:
  void place(uint64_t h, size_t entry) {
    size_t i = h & mask_;
    while (slots_[i] != 0) i = (i + 1) & mask_;
    slots_[i] = (uint64_t(entry) << 32) | 1;
  }

  struct Entry {
    uint64_t hash;
    uint32_t key_off, key_len, ids_off, ids_len;
  };
  std::vector<uint64_t> slots_;  // (entry index << 32) | 1; 0 = empty
  size_t mask_;
  std::vector<Entry> entries_;
  std::string arena_;
  std::vector<int32_t> ids_;
};

// This thread's caches, each with the liveness of its instance. A cache goes when its instance
// is gone: a process that loads tokenizer after tokenizer (tests, fuzzing, a server) would
// otherwise keep every dead instance's cache, up to megabytes each, for the life of each thread.
struct CacheSlot {
  std::weak_ptr<const bool> owner;
  std::unique_ptr<WordCache> cache;
};
std::unordered_map<uint64_t, CacheSlot>& thread_caches() {
  thread_local std::unordered_map<uint64_t, CacheSlot> caches;
  return caches;
}

WordCache& thread_cache(uint64_t instance, const std::shared_ptr<const bool>& alive) {
  thread_local uint64_t last_instance = 0;
  thread_local WordCache* last = nullptr;
  if (instance != last_instance) {
    auto& caches = thread_caches();
    auto it = caches.find(instance);
    if (it == caches.end()) {
      // Instance ids are never reused, so a dead instance's cache can only be dropped, and the
      // first use of a new instance on this thread is when to drop them.
      std::erase_if(caches, [](const auto& kv) { return kv.second.owner.expired(); });
      it = caches.emplace(instance, CacheSlot{alive, std::make_unique<WordCache>()}).first;
    }
    last = it->second.cache.get();
    last_instance = instance;
  }
  return *last;
}
}  // namespace

Bpe::Bpe(const Json& j, const std::string& where, const std::string& origin) : instance_(g_next_instance++) {
  vocab_ = Vocab::from_json(json_field(j, "vocab", where, origin), where + ".vocab", origin);
  prefix_ = json_string_or(j, "continuing_subword_prefix", "", where, origin);
  suffix_ = json_string_or(j, "end_of_word_suffix", "", where, origin);
  fuse_unk_ = json_bool_or(j, "fuse_unk", false, where, origin);
  byte_fallback_ = json_bool_or(j, "byte_fallback", false, where, origin);
  ignore_merges_ = json_bool_or(j, "ignore_merges", false, where, origin);
  const double dropout = json_number_or(j, "dropout", 0.0, where, origin);
  if (dropout != 0.0)
    throw Error(where + ".dropout", cat("BPE dropout is not supported (tokenization must be deterministic), expected "
                                        "null or 0, got ", dropout, " (", origin, ")"));
  const std::string unk = json_string_or(j, "unk_token", "", where, origin);
  if (!unk.empty()) {
    unk_id_ = vocab_.find(unk);
    if (unk_id_ < 0)
      throw Error(where + ".unk_token", cat("token \"", unk, "\" is not in ", where, ".vocab (", origin, ")"));
  }
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    byte_ids_[b] = vocab_.find(name);
  }
  char_ids_.reserve(1024);
  for (size_t id = 0; id < vocab_.to_token.size(); ++id) {
    const std::string& tok = vocab_.to_token[id];
    if (tok.empty()) continue;
    size_t i = 0;
    const uint32_t cp = utf8_next(tok, i);
    if (i == tok.size()) char_ids_.insert(cp, uint64_t(uint32_t(id)));
  }

  const Json& merges = json_array(j, "merges", where, origin);
  merges_.reserve(merges.size());
  std::string merged;
  for (size_t r = 0; r < merges.size(); ++r) {
    const Json& m = merges[r];
    std::string_view a, b;
    std::string line;
    if (m.is_string()) {
      line = m.get<std::string>();
      const size_t sp = line.find(' ');
      if (sp == std::string::npos || line.find(' ', sp + 1) != std::string::npos)
        throw Error(cat(where, ".merges[", r, "]"),
                    cat("expected \"left right\" (two tokens separated by one space), got \"", line, "\" (", origin, ")"));
      a = std::string_view(line).substr(0, sp);
      b = std::string_view(line).substr(sp + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      a = m[0].get_ref<const std::string&>();
      b = m[1].get_ref<const std::string&>();
    } else {
      throw Error(cat(where, ".merges[", r, "]"),
                  cat("expected a \"left right\" string or a [left, right] pair of strings, got ", m.dump(), " (",
                      origin, ")"));
    }
    const int32_t ia = vocab_.find(a), ib = vocab_.find(b);
    std::string_view b_tail = b;
    if (!prefix_.empty() && b_tail.substr(0, prefix_.size()) == prefix_) b_tail.remove_prefix(prefix_.size());
    merged.assign(a);
    merged.append(b_tail);
    const int32_t im = vocab_.find(merged);
    const std::string_view missing = ia < 0 ? a : ib < 0 ? b : im < 0 ? std::string_view(merged) : std::string_view();
    if (ia < 0 || ib < 0 || im < 0)
      throw Error(cat(where, ".merges[", r, "]"),
                  cat("merge refers to token \"", missing, "\" which is not in ", where, ".vocab (", origin, ")"));
    merges_.insert((uint64_t(uint32_t(ia)) << 32) | uint32_t(ib), (uint64_t(r) << 32) | uint32_t(im));
  }
}

void Bpe::initial_symbols(std::string_view w, std::vector<int32_t>& syms) const {
  syms.clear();
  int32_t pending_unk = -1;  // fuse_unk accumulates consecutive unknowns into one
  std::string s;
  for (size_t i = 0; i < w.size();) {
    const size_t b = i;
    const uint32_t cp = utf8_next(w, i);
    int32_t id = -1;
    const bool affix = (!prefix_.empty() && b > 0) || (!suffix_.empty() && i == w.size());
    if (!affix) {
      uint64_t v;
      if (char_ids_.find(cp, &v)) id = int32_t(v);
      s.assign(w.substr(b, i - b));
    } else {
      s.clear();
      if (!prefix_.empty() && b > 0) s = prefix_;
      s.append(w.substr(b, i - b));
      if (!suffix_.empty() && i == w.size()) s += suffix_;
      id = vocab_.find(s);
    }
    if (id >= 0) {
      if (pending_unk >= 0) syms.push_back(pending_unk);
      pending_unk = -1;
      syms.push_back(id);
      continue;
    }
    if (byte_fallback_) {
      bool all = true;
      for (unsigned char c : s) all &= byte_ids_[c] >= 0;
      if (all) {
        // The crate leaves a pending unknown in place here, so it lands after these bytes.
        for (unsigned char c : s) syms.push_back(byte_ids_[c]);
        continue;
      }
    }
    if (unk_id_ >= 0) {
      if (pending_unk >= 0 && !fuse_unk_) syms.push_back(pending_unk);
      pending_unk = unk_id_;
    }
  }
  if (pending_unk >= 0) syms.push_back(pending_unk);
}

void Bpe::merge(std::vector<int32_t>& syms) const {
  const size_t n = syms.size();
  if (n < 2) return;
  if (n <= 24) {
    for (;;) {
      uint32_t best_rank = UINT32_MAX, rank;
      int32_t best_id = -1, id;
      size_t best_pos = 0;
      for (size_t k = 0; k + 1 < syms.size(); ++k)
        if (lookup_merge(syms[k], syms[k + 1], &rank, &id) && rank < best_rank) {
          best_rank = rank;
          best_id = id;
          best_pos = k;
        }
      if (best_id < 0) return;
      syms[best_pos] = best_id;
      syms.erase(syms.begin() + best_pos + 1);
    }
  }
  // Doubly linked list over the symbols plus a min-heap of candidate merges (rank, position).
  struct Cand {
    uint32_t rank;
    int32_t pos, new_id;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  std::vector<int32_t> prev(n), next(n);
  for (size_t k = 0; k < n; ++k) {
    prev[k] = int32_t(k) - 1;
    next[k] = k + 1 < n ? int32_t(k + 1) : -1;
  }
  std::vector<bool> alive(n, true);
  std::priority_queue<Cand, std::vector<Cand>, std::greater<Cand>> heap;
  uint32_t rank;
  int32_t id;
  for (size_t k = 0; k + 1 < n; ++k)
    if (lookup_merge(syms[k], syms[k + 1], &rank, &id)) heap.push({rank, int32_t(k), id});
  while (!heap.empty()) {
    const Cand c = heap.top();
    heap.pop();
    const int32_t p = c.pos;
    if (!alive[p] || next[p] < 0) continue;
    const int32_t q = next[p];
    if (!lookup_merge(syms[p], syms[q], &rank, &id) || id != c.new_id || rank != c.rank) continue;
    syms[p] = c.new_id;
    alive[q] = false;
    next[p] = next[q];
    if (next[q] >= 0) prev[next[q]] = p;
    if (prev[p] >= 0 && lookup_merge(syms[prev[p]], syms[p], &rank, &id)) heap.push({rank, prev[p], id});
    if (next[p] >= 0 && lookup_merge(syms[p], syms[next[p]], &rank, &id)) heap.push({rank, p, id});
  }
  std::vector<int32_t> out;
  for (int32_t k = 0; k >= 0; k = next[k]) out.push_back(syms[k]);
  syms.swap(out);
}

void Bpe::tokenize_uncached(std::string_view word, std::vector<int32_t>& out) const {
  if (ignore_merges_) {
    const int32_t id = vocab_.find(word);
    if (id >= 0) {
      out.push_back(id);
      return;
    }
  }
  thread_local std::vector<int32_t> syms;
  initial_symbols(word, syms);
  merge(syms);
  out.insert(out.end(), syms.begin(), syms.end());
}

void Bpe::tokenize(std::string_view word, std::vector<int32_t>& out) const {
  if (word.empty()) return;
  if (word.size() > kCacheMaxWord) return tokenize_uncached(word, out);
  WordCache& cache = thread_cache(instance_, alive_);
  uint64_t h;
  size_t n;
  if (const int32_t* hit = cache.get(word, &h, &n)) {
    out.insert(out.end(), hit, hit + n);
    return;
  }
  const size_t start = out.size();
  tokenize_uncached(word, out);
  cache.put(word, h, out.data() + start, out.size() - start);
}

size_t Bpe::thread_cache_count() { return thread_caches().size(); }

std::unique_ptr<Model> make_bpe(const Json& j, const std::string& where, const std::string& origin) {
  return std::make_unique<Bpe>(j, where, origin);
}

}  // namespace tandem::tokenizer
