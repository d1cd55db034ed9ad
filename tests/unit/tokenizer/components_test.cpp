// Every component type on small hand-written tokenizer.json files, each checked against the Rust
// `tokenizers` crate (tests/reference/hf_tokenize.js, one node run for all of them): ids with and
// without special tokens and the three decodes. A few cases also pin hand-derived ids.
#include <gtest/gtest.h>

#include <set>
#include <sstream>

#include "core/file.h"
#include "core/json.h"
#include "testing/testing.h"
#include "unit/tokenizer/corpus.h"
#include "tokenizer/bpe.h"
#include "tokenizer/tokenizer.h"

namespace tandem::tokenizer {
namespace {

using tandem::testing::TempDir;

// Builds a BPE model whose vocab holds every character of alphabet (with the optional
// continuing-subword prefix / end-of-word suffix variants), the given merges and their results.
Json bpe_model(const std::vector<std::pair<std::string, std::string>>& merges, const std::string& prefix = "",
               const std::string& suffix = "", bool byte_fallback = false, const std::string& unk = "",
               bool pairs_as_arrays = false) {
  Json vocab = Json::object();
  auto add = [&](const std::string& t) {
    if (!vocab.contains(t)) vocab[t] = int(vocab.size());
  };
  if (!unk.empty()) add(unk);
  if (byte_fallback)
    for (int b = 0; b < 256; ++b) {
      char name[8];
      std::snprintf(name, sizeof(name), "<0x%02X>", b);
      add(name);
    }
  const std::vector<std::string> alphabet = {"a", "b", "c", "d", "e", "f", "g", "h", "i", "k", "l", "m", "n", "o",
                                             "p", "r", "s", "t", "u", "w", "y", "T", "H", "I", "W", "0", "1", "2",
                                             "3", "4", "5", ".", ",", "!", "?", "'", "-", " ", "▁", "é", "ß", "Ġ",
                                             "ĉ", "Ċ", "ï", "ì"};
  for (const auto& c : alphabet) {
    add(c);
    if (!prefix.empty()) add(prefix + c);
    if (!suffix.empty()) add(c + suffix);
    if (!prefix.empty() && !suffix.empty()) add(prefix + c + suffix);
  }
  Json m = Json::array();
  for (const auto& [a, b] : merges) {
    std::string tail = b;
    if (!prefix.empty() && tail.starts_with(prefix)) tail = tail.substr(prefix.size());
    add(a + tail);
    if (pairs_as_arrays) m.push_back(Json::array({a, b}));
    else m.push_back(a + " " + b);
  }
  Json model = {{"type", "BPE"}, {"vocab", vocab}, {"merges", m}, {"dropout", nullptr}, {"fuse_unk", !unk.empty()},
                {"byte_fallback", byte_fallback}};
  model["unk_token"] = unk.empty() ? Json(nullptr) : Json(unk);
  model["continuing_subword_prefix"] = prefix.empty() ? Json(nullptr) : Json(prefix);
  model["end_of_word_suffix"] = suffix.empty() ? Json(nullptr) : Json(suffix);
  return model;
}

const std::vector<std::pair<std::string, std::string>> kMerges = {
    {"t", "h"}, {"th", "e"}, {"h", "e"}, {"i", "n"}, {"in", "g"}, {"e", "r"}, {"a", "n"}, {"an", "d"}, {"o", "n"},
    {"▁", "t"}, {"▁t", "he"}, {"▁", "a"}, {"Ġ", "t"}, {"Ġt", "he"}, {"e", "s"}, {"s", "t"}, {"1", "2"}};

Json tokenizer_json(Json model, Json normalizer = nullptr, Json pre = nullptr, Json post = nullptr,
                    Json decoder = nullptr, Json added = Json::array()) {
  return {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}, {"added_tokens", added},
          {"normalizer", normalizer}, {"pre_tokenizer", pre}, {"post_processor", post}, {"decoder", decoder},
          {"model", model}};
}

Json added(int id, const std::string& content, bool special, bool lstrip = false, bool rstrip = false,
           bool normalized = false, bool single_word = false) {
  return {{"id", id}, {"content", content}, {"special", special}, {"lstrip", lstrip}, {"rstrip", rstrip},
          {"normalized", normalized}, {"single_word", single_word}};
}

struct Case {
  std::string name;
  Json tok;
};

Json split(const std::string& regex, const std::string& behavior, bool invert = false, bool literal = false) {
  return {{"type", "Split"}, {"pattern", {{literal ? "String" : "Regex", regex}}}, {"behavior", behavior},
          {"invert", invert}};
}

std::vector<Case> cases() {
  std::vector<Case> c;
  const Json ws = {{"type", "Whitespace"}};
  const Json ws_split = {{"type", "WhitespaceSplit"}};
  // Normalizers.
  for (const char* form : {"NFC", "NFD", "NFKC", "NFKD"})
    c.push_back({cat("normalizer_", form), tokenizer_json(bpe_model(kMerges, "", "", false, "<unk>"),
                                                          {{"type", form}}, ws)});
  c.push_back({"normalizer_sequence",
               tokenizer_json(bpe_model(kMerges, "", "", false, "<unk>"),
                              {{"type", "Sequence"},
                               {"normalizers", Json::array({{{"type", "Strip"}, {"strip_left", true}, {"strip_right", true}},
                                                            {{"type", "Lowercase"}},
                                                            {{"type", "Replace"}, {"pattern", {{"Regex", "[0-9]+"}}}, {"content", "#"}},
                                                            {{"type", "Replace"}, {"pattern", {{"String", "ing"}}}, {"content", "in"}},
                                                            {{"type", "Prepend"}, {"prepend", "▁"}}})}},
                              ws_split)});
  c.push_back({"normalizer_strip_accents",
               tokenizer_json(bpe_model(kMerges, "", "", false, "<unk>"),
                              {{"type", "Sequence"},
                               {"normalizers", Json::array({{{"type", "NFD"}}, {{"type", "StripAccents"}}, {{"type", "Lowercase"}}})}},
                              ws)});
  c.push_back({"normalizer_strip_accents_only",
               tokenizer_json(bpe_model(kMerges, "", "", false, "<unk>"), {{"type", "StripAccents"}}, ws)});
  // SentencePiece style: Metaspace + byte fallback + decoders.
  for (const char* scheme : {"always", "first", "never"})
    c.push_back({cat("metaspace_", scheme),
                 tokenizer_json(bpe_model(kMerges, "", "", true, "<unk>"), nullptr,
                                {{"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", scheme}, {"split", true}},
                                nullptr,
                                {{"type", "Sequence"},
                                 {"decoders", Json::array({{{"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", scheme}, {"split", true}},
                                                           {{"type", "ByteFallback"}},
                                                           {{"type", "Fuse"}}})}},
                                Json::array({added(1000, "<s>", true), added(1001, "</s>", true)}))});
  c.push_back({"metaspace_nosplit",
               tokenizer_json(bpe_model(kMerges, "", "", true, "<unk>"), nullptr,
                              {{"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", "always"}, {"split", false}},
                              {{"type", "TemplateProcessing"},
                               {"single", Json::array({{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
                                                       {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                                                       {{"SpecialToken", {{"id", "</s>"}, {"type_id", 0}}}}})},
                               {"pair", Json::array()},
                               {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1000}}, {"tokens", {"<s>"}}}},
                                                   {"</s>", {{"id", "</s>"}, {"ids", {1001}}, {"tokens", {"</s>"}}}}}}},
                              {{"type", "Sequence"},
                               {"decoders", Json::array({{{"type", "Replace"}, {"pattern", {{"String", "▁"}}}, {"content", " "}},
                                                         {{"type", "ByteFallback"}},
                                                         {{"type", "Fuse"}},
                                                         {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}})}},
                              Json::array({added(1000, "<s>", true), added(1001, "</s>", true)}))});
  // Subword prefix / suffix, merges as [a, b] pairs, unknowns fused, Digits and Punctuation.
  c.push_back({"prefix_suffix",
               tokenizer_json(bpe_model({{"t", "##h"}, {"th", "##e</w>"}, {"i", "##n"}, {"in", "##g</w>"}, {"a", "##n"}},
                                        "##", "</w>", false, "<unk>", true),
                              nullptr,
                              {{"type", "Sequence"},
                               {"pretokenizers", Json::array({ws_split, {{"type", "Digits"}, {"individual_digits", true}},
                                                              {{"type", "Punctuation"}, {"behavior", "Isolated"}}})}},
                              nullptr, {{"type", "BPEDecoder"}, {"suffix", "</w>"}})});
  c.push_back({"digits_contiguous", tokenizer_json(bpe_model(kMerges, "", "", false, "<unk>"), nullptr,
                                                   {{"type", "Digits"}, {"individual_digits", false}})});
  // Byte level with its own regex, prefix space, RobertaProcessing, added-token flags.
  // Byte level: the vocab also holds the 256 byte-level characters, so any input encodes.
  Json bl_model = bpe_model(kMerges);
  {
    Json vocab = bl_model["vocab"];
    int extra = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const uint32_t cp = printable ? uint32_t(b) : uint32_t(256 + extra++);
      std::string u;
      if (cp < 0x80) {
        u.push_back(char(cp));
      } else {
        u.push_back(char(0xC0 | (cp >> 6)));
        u.push_back(char(0x80 | (cp & 0x3F)));
      }
      if (!vocab.contains(u)) vocab[u] = int(vocab.size());
    }
    bl_model["vocab"] = vocab;
  }
  const Json added_flags = Json::array({added(2000, "<mask>", true, true, false), added(2001, "[R]", true, false, true),
                                        added(2002, "word", false, false, false, false, true),
                                        added(2003, "the", false, false, false, true),
                                        added(2004, "<cls>", true), added(2005, "<sep>", true)});
  c.push_back({"byte_level",
               tokenizer_json(bl_model, nullptr,
                              {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}},
                              {{"type", "RobertaProcessing"}, {"sep", {"<sep>", 2005}}, {"cls", {"<cls>", 2004}},
                               {"trim_offsets", true}, {"add_prefix_space", true}},
                              {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}},
                              added_flags)});
  c.push_back({"byte_level_split_ignore_merges",
               [&] {
                 Json m = bl_model;
                 m["ignore_merges"] = true;
                 return tokenizer_json(m, {{"type", "NFC"}},
                                       {{"type", "Sequence"},
                                        {"pretokenizers", Json::array({split("\\s+|\\p{N}", "Isolated"),
                                                                       {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}}})}},
                                       {{"type", "Sequence"},
                                        {"processors", Json::array({{{"type", "ByteLevel"}, {"add_prefix_space", false},
                                                                     {"trim_offsets", false}, {"use_regex", false}}})}},
                                       {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}},
                                       added_flags);
               }()});
  // Split behaviours and invert.
  for (const char* b : {"Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"}) {
    c.push_back({cat("split_", b), tokenizer_json(bpe_model(kMerges, "", "", false, "<unk>"), nullptr, split("[ ,.!?]", b))});
    c.push_back({cat("split_invert_", b),
                 tokenizer_json(bpe_model(kMerges, "", "", false, "<unk>"), nullptr, split("[a-z]+", b, true))});
  }
  c.push_back({"split_word_class", tokenizer_json(bpe_model(kMerges, "", "", false, "<unk>"), {{"type", "NFD"}},
                                                  split("\\w+|[^\\w\\s]+|\\W", "Isolated"))});
  c.push_back({"split_literal", tokenizer_json(bpe_model(kMerges, "", "", false, "<unk>"), nullptr, split("th", "MergedWithNext", false, true))});
  // Unigram: scores chosen so that Viterbi has real choices ("the" vs "th"+"e", "▁t"+"he").
  for (const bool fallback : {false, true}) {
    Json vocab = Json::array({Json::array({"<unk>", 0.0})});
    const std::pair<const char*, double> pieces[] = {
        {"▁", -2.0}, {"▁the", -3.0}, {"▁t", -2.5}, {"he", -2.0}, {"th", -3.5}, {"e", -3.0}, {"t", -3.2}, {"h", -3.4},
        {"a", -3.0}, {"an", -3.3}, {"and", -4.0}, {"▁a", -3.1}, {"n", -3.5}, {"d", -3.6}, {"i", -3.4}, {"ng", -3.9},
        {"ing", -4.5}, {"in", -3.6}, {"g", -3.8}, {"s", -3.1}, {"1", -4.0}, {"12", -4.1}, {"2", -4.2}, {"é", -5.0},
        {"好", -5.5}, {"▁你", -6.0}, {",", -3.0}, {".", -3.0}, {"r", -3.3}, {"o", -3.2}, {"w", -3.9}, {"l", -3.5}};
    for (auto [p, sc] : pieces) vocab.push_back(Json::array({p, sc}));
    if (fallback)
      for (int b = 0; b < 256; ++b) {
        char name[8];
        std::snprintf(name, sizeof(name), "<0x%02X>", b);
        vocab.push_back(Json::array({name, -10.0}));
      }
    const Json metaspace = {{"type", "Metaspace"}, {"replacement", "▁"}, {"prepend_scheme", "always"}, {"split", true}};
    c.push_back({fallback ? "unigram_byte_fallback" : "unigram",
                 tokenizer_json({{"type", "Unigram"}, {"unk_id", 0}, {"vocab", vocab}, {"byte_fallback", fallback}},
                                {{"type", "NFKC"}}, metaspace, nullptr,
                                {{"type", "Sequence"},
                                 {"decoders", Json::array({metaspace, {{"type", "ByteFallback"}}, {{"type", "Fuse"}}})}},
                                Json::array({added(0, "<unk>", true)}))});
  }
  // WordPiece with BERT normalizer, pre-tokenizer, processor and decoder.
  {
    Json vocab = Json::object();
    for (const char* t : {"[UNK]", "[CLS]", "[SEP]", "un", "##aff", "##able", "hello", "world", "the", "##s", "!",
                          ",", ".", "a", "##b", "b", "caf", "##e", "'", "s", "你", "好", "##llo", "he"})
      vocab[t] = int(vocab.size());
    c.push_back({"wordpiece",
                 tokenizer_json({{"type", "WordPiece"}, {"unk_token", "[UNK]"}, {"continuing_subword_prefix", "##"},
                                 {"max_input_chars_per_word", 100}, {"vocab", vocab}},
                                {{"type", "BertNormalizer"}, {"clean_text", true}, {"handle_chinese_chars", true},
                                 {"strip_accents", nullptr}, {"lowercase", true}},
                                {{"type", "BertPreTokenizer"}},
                                {{"type", "BertProcessing"}, {"sep", {"[SEP]", 2}}, {"cls", {"[CLS]", 1}}},
                                {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}},
                                Json::array({added(0, "[UNK]", true), added(1, "[CLS]", true), added(2, "[SEP]", true)}))});
  }
  return c;
}

std::vector<std::string> inputs() {
  return {"the thing and the rest", "  The THING, isn't it?  ", "Thé straße 12345 1212", "abc",
          "unaffable hello world! Hello, the caf\xc3\xa9s", "e\xcc\x81t\xc3\xa9 \xef\xac\x81 \xe2\x91\xa0", "",
          " ", "a  b\t\tc\n\nd", "你好 好", "<s>the</s> <mask> the [R]   x <mask>", "a word words sword word",
          "the<mask>the", "x\xe2\x96\x81y \xe2\x96\x81\xe2\x96\x81z", "q\xc3\xb0 \xf0\x9f\x99\x82 zz",
          "\xc4\xb0stanbul \xce\x9f\xce\x94\xce\x9f\xce\xa3 Stra\xc3\x9f\x65 \xc7\x85 \xe1\xba\x9e"};
}

TEST(TokenizerComponents, MatchRustTokenizersOnHandWrittenFiles) {
  TempDir tmp("tok_components");
  const auto cs = cases();
  auto in = inputs();
  for (auto& l : random_lines(60, 0xC0FFEEull)) in.push_back(std::move(l));
  std::string body;
  for (const auto& t : in) body += Json{{"text", t}}.dump() + "\n";
  write_file_atomic(tmp.file("in.jsonl"), body);
  std::string cmd = cat("TANDEM_NODE_MODULES=", tandem::testing::node_modules_dir(), " node ",
                        tandem::testing::source_dir(), "/tests/reference/hf_tokenize.js");
  for (const auto& c : cs) {
    write_file_atomic(tmp.file(c.name + ".json"), c.tok.dump(2));
    cmd += cat(" ", tmp.file(c.name + ".json"), " ", tmp.file("in.jsonl"), " ", tmp.file(c.name + ".out"));
  }
  std::string log;
  ASSERT_EQ(tandem::testing::run_command(cmd, &log), 0) << log;
  for (const auto& c : cs) {
    SCOPED_TRACE(c.name);
    std::istringstream is(read_file(tmp.file(c.name + ".out")));
    std::vector<Json> ref;
    for (std::string line; std::getline(is, line);)
      if (!line.empty()) ref.push_back(Json::parse(line));
    ASSERT_FALSE(ref.empty());
    ASSERT_FALSE(ref[0].contains("load_error")) << ref[0].dump();
    const Tokenizer tok = Tokenizer::from_json(c.tok, c.name);
    ASSERT_EQ(ref.size(), in.size());
    for (size_t k = 0; k < in.size(); ++k) {
      SCOPED_TRACE(cat("input ", k, ": ", in[k]));
      EXPECT_EQ(tok.encode(in[k], false), ref[k]["ids"].get<std::vector<int32_t>>());
      EXPECT_EQ(tok.encode(in[k], true), ref[k]["ids_special"].get<std::vector<int32_t>>());
      const auto ids = ref[k]["ids_special"].get<std::vector<int32_t>>();
      EXPECT_EQ(tok.decode(ref[k]["ids"].get<std::vector<int32_t>>()), ref[k]["decoded"].get<std::string>());
      EXPECT_EQ(tok.decode(ids), ref[k]["decoded_special"].get<std::string>());
      EXPECT_EQ(tok.decode(ids, true), ref[k]["decoded_skip"].get<std::string>());
    }
  }
}

// Hand-derived: "the" = t,h,e -> (t h) rank 0 -> (th e) rank 1 -> one token; "thing" uses th, in, ing.
TEST(TokenizerComponents, BpeMergeOrderByHand) {
  const Json j = tokenizer_json(bpe_model(kMerges), nullptr, {{"type", "WhitespaceSplit"}});
  const Tokenizer tok = Tokenizer::from_json(j, "hand");
  EXPECT_EQ(tok.encode("the thing"),
            (std::vector<int32_t>{tok.token_to_id("the"), tok.token_to_id("th"), tok.token_to_id("ing")}));
  EXPECT_EQ(*tok.id_to_token(tok.token_to_id("and")), "and");
  EXPECT_EQ(tok.token_to_id("nope"), -1);
  EXPECT_FALSE(tok.id_to_token(999999).has_value());
}

// Each BPE instance keeps a word cache per thread; the cache must go with the instance, or a
// process loading tokenizer after tokenizer grows without bound (found by the tokenizer_json fuzzer:
// ~12 KB kept per input). A dead instance's cache is dropped at the next first use of another.
TEST(TokenizerComponents, BpeWordCachesGoWithTheirTokenizer) {
  const Json j = tokenizer_json(bpe_model(kMerges), nullptr, {{"type", "WhitespaceSplit"}});
  const Tokenizer first = Tokenizer::from_json(j, "hand");
  const std::vector<int32_t> want = first.encode("the thing and the string");
  const size_t before = Bpe::thread_cache_count();
  for (int i = 0; i < 200; ++i) {
    const Tokenizer tok = Tokenizer::from_json(j, "hand");
    ASSERT_EQ(tok.encode("the thing and the string"), want);  // cold cache
    ASSERT_EQ(tok.encode("the thing and the string"), want);  // warm cache
  }
  // The live tokenizer's cache stays, and at most the last dead one's has not been dropped yet.
  EXPECT_LE(Bpe::thread_cache_count(), before + 1);
  EXPECT_EQ(first.encode("the thing and the string"), want);

  std::vector<Tokenizer> live;
  for (int i = 0; i < 5; ++i) {
    live.push_back(Tokenizer::from_json(j, "hand"));
    EXPECT_EQ(live.back().encode("the thing"), first.encode("the thing"));
  }
  EXPECT_GE(Bpe::thread_cache_count(), 6u);  // the five and `first`
  for (const Tokenizer& t : live) EXPECT_EQ(t.encode("and the string"), first.encode("and the string"));
}

}  // namespace
}  // namespace tandem::tokenizer
