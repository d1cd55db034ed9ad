// Model folders in and out: round trips in every disk dtype, and bad input of every kind the
// issue lists gives an Error naming the file and the field or tensor, never a crash.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "core/file.h"
#include "core/json.h"
#include "model/decoder.h"
#include "model/init.h"
#include "model/safetensors.h"
#include "testing/testing.h"

namespace tandem {
namespace {

using model::Decoder;
using model::ModelConfig;

Json small_config(const std::string& arch = "Qwen3ForCausalLM") {
  return {{"architectures", {arch}}, {"hidden_size", 16}, {"intermediate_size", 32}, {"num_hidden_layers", 2},
          {"num_attention_heads", 4}, {"num_key_value_heads", 2}, {"head_dim", 4}, {"vocab_size", 50},
          {"rms_norm_eps", 1e-6}, {"rope_theta", 10000.0}, {"tie_word_embeddings", false}};
}

std::string write_model(const testing::TempDir& dir, const Json& cfg, DType dtype = DType::kF32) {
  const std::string m = dir.file("m");
  Decoder d(ModelConfig::from_json(cfg, "test"));
  model::init_random(d.weights(), 0.5, 3);
  d.save(m, dtype);
  return m;
}

// Expects f() to throw tandem::Error whose message contains every needle.
template <class F>
void expect_error(F f, std::initializer_list<std::string> needles) {
  try {
    f();
    ADD_FAILURE() << "no error thrown; expected one mentioning " << *needles.begin();
  } catch (const Error& e) {
    const std::string m = e.what();
    for (const auto& n : needles) EXPECT_NE(m.find(n), std::string::npos) << "message lacks '" << n << "': " << m;
  }
}

TEST(ModelIo, RoundTripEveryDiskDtype) {
  for (DType dt : {DType::kF32, DType::kBF16, DType::kF16}) {
    testing::TempDir dir("roundtrip");
    const std::string m = write_model(dir, small_config(), dt);
    Decoder orig(ModelConfig::from_json(small_config(), "test"));
    model::init_random(orig.weights(), 0.5, 3);
    auto back = Decoder::load(m);
    const float* a = orig.weights().flat.f32();
    const float* b = back->weights().flat.f32();
    double max_rel = 0;
    for (int64_t i = 0; i < orig.weights().num_params(); ++i)
      max_rel = std::max(max_rel, std::abs(double(a[i]) - b[i]) / std::max(1e-3, std::abs(double(a[i]))));
    const double limit = dt == DType::kF32 ? 0.0 : dt == DType::kBF16 ? 1.0 / 256 : 1.0 / 2048;
    EXPECT_LE(max_rel, limit) << dtype_name(dt);
    const Json cj = read_json_file(m + "/config.json", "t");
    EXPECT_EQ(cj["torch_dtype"], dt == DType::kF32 ? "float32" : dt == DType::kBF16 ? "bfloat16" : "float16");
  }
}

TEST(ModelIo, SaveIsAtomicAndLeavesNoTemporaries) {
  testing::TempDir dir("atomic-save");
  const std::string m = write_model(dir, small_config());
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator(m)) {
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << e.path();
    ++n;
  }
  EXPECT_EQ(n, 2);  // config.json, model.safetensors
}

TEST(ModelConfigErrors, ArchitecturesMissingOrUnsupported) {
  Json c = small_config();
  c.erase("architectures");
  expect_error([&] { ModelConfig::from_json(c, "cfg.json"); }, {"model.config.architectures", "cfg.json"});
  expect_error([&] { ModelConfig::from_json(small_config("GPT2LMHeadModel"), "cfg.json"); },
               {"unsupported architecture 'GPT2LMHeadModel'", "LlamaForCausalLM"});
}

TEST(ModelConfigErrors, MissingOrMistypedFields) {
  for (const char* f : {"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads", "vocab_size"}) {
    Json c = small_config();
    c.erase(f);
    expect_error([&] { ModelConfig::from_json(c, "cfg.json"); }, {std::string("model.config.") + f, "missing"});
  }
  Json c = small_config();
  c["hidden_size"] = "sixteen";
  expect_error([&] { ModelConfig::from_json(c, "cfg.json"); }, {"model.config.hidden_size", "expected an integer"});
  c = small_config();
  c["num_key_value_heads"] = 3;
  expect_error([&] { ModelConfig::from_json(c, "cfg.json"); }, {"num_key_value_heads", "must divide"});
  c = small_config();
  c["rope_scaling"] = {{"rope_type", "dynamic"}, {"factor", 2.0}};
  expect_error([&] { ModelConfig::from_json(c, "cfg.json"); }, {"rope_scaling.rope_type", "dynamic"});
  c = small_config();
  c["hidden_act"] = "gelu";
  expect_error([&] { ModelConfig::from_json(c, "cfg.json"); }, {"hidden_act", "gelu"});
  c = small_config();
  c["torch_dtype"] = "int8";
  expect_error([&] { ModelConfig::from_json(c, "cfg.json"); }, {"torch_dtype", "int8"});
}

// Writes a safetensors file with the given header text and data size.
void write_raw(const std::string& path, const std::string& header, size_t data_bytes, uint64_t declared = 0) {
  std::ofstream f(path, std::ios::binary);
  const uint64_t n = declared ? declared : header.size();
  f.write(reinterpret_cast<const char*>(&n), 8);
  f << header;
  f << std::string(data_bytes, '\0');
}

TEST(SafetensorsErrors, CorruptFiles) {
  testing::TempDir dir("st");
  const std::string p = dir.file("x.safetensors");
  {
    std::ofstream(p) << "abc";
    expect_error([&] { model::SafetensorsFile f(p); }, {"too short", p});
  }
  write_raw(p, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8, 1000);
  expect_error([&] { model::SafetensorsFile f(p); }, {"header", "truncated"});
  write_raw(p, R"({"a":{"dtype":"F32","shape":[2],"data_offs)", 8);
  expect_error([&] { model::SafetensorsFile f(p); }, {"invalid JSON", p});
  write_raw(p, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4);
  expect_error([&] { model::SafetensorsFile f(p); }, {"model.safetensors.a.data_offsets", "outside the data section"});
  write_raw(p, R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8);
  expect_error([&] { model::SafetensorsFile f(p); }, {"span of 8 bytes, expected 12"});
  write_raw(p, R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12);
  expect_error([&] { model::SafetensorsFile f(p); }, {"overlaps"});
  write_raw(p, R"({"a":{"dtype":"Q4","shape":[2],"data_offsets":[0,8]}})", 8);
  expect_error([&] { model::SafetensorsFile f(p); }, {"model.safetensors.a.dtype", "unsupported dtype 'Q4'"});
  write_raw(p, R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,16],"data_offsets":[0,8]}})", 8);
  expect_error([&] { model::SafetensorsFile f(p); }, {"overflows"});
  write_raw(p, R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8);
  expect_error([&] { model::SafetensorsFile f(p); }, {"non-negative"});
}

TEST(ModelLoadErrors, MissingTensorShapeMismatchAndDtype) {
  testing::TempDir dir("load-errors");
  const std::string m = write_model(dir, small_config());
  // Rewrite the weights without one tensor, then with one of the wrong shape, then wrong dtype.
  model::SafetensorsFile orig(m + "/model.safetensors");
  std::vector<model::NamedTensor> ts;
  for (const auto& e : orig.entries()) {
    Tensor t = Tensor::empty(e.shape);
    std::memcpy(t.raw(), orig.view(e).raw(), t.nbytes());
    ts.push_back({e.name, t, DType::kF32});
  }
  auto rewrite = [&](std::vector<model::NamedTensor> v) { model::write_safetensors(m + "/model.safetensors", v); };
  auto without = ts;
  without.erase(std::remove_if(without.begin(), without.end(), [](auto& t) { return t.name == "model.layers.1.mlp.up_proj.weight"; }), without.end());
  rewrite(without);
  expect_error([&] { Decoder::load(m); }, {"model.load.model.layers.1.mlp.up_proj.weight", "missing"});
  auto bad_shape = ts;
  for (auto& t : bad_shape)
    if (t.name == "model.layers.0.self_attn.k_proj.weight") t.tensor = Tensor::zeros({16, 16});
  rewrite(bad_shape);
  expect_error([&] { Decoder::load(m); }, {"model.load.model.layers.0.self_attn.k_proj.weight", "shape [16, 16]", "expected [8, 16]"});
  auto bad_dtype = ts;
  for (auto& t : bad_dtype)
    if (t.name == "model.norm.weight") t.tensor = Tensor::zeros({4}, DType::kI32), t.out_dtype = DType::kI32;
  rewrite(bad_dtype);
  expect_error([&] { Decoder::load(m); }, {"model.norm.weight"});
  expect_error([&] { Decoder::load(dir.file("nope")); }, {"not a directory"});
  std::filesystem::remove(m + "/model.safetensors");
  expect_error([&] { Decoder::load(m); }, {"no model.safetensors"});
}

TEST(ModelLoadErrors, ShardIndexProblems) {
  testing::TempDir dir("shards");
  const std::string m = write_model(dir, small_config());
  std::filesystem::rename(m + "/model.safetensors", m + "/part-1.safetensors");
  model::SafetensorsFile f(m + "/part-1.safetensors");
  Json wm = Json::object();
  for (const auto& e : f.entries()) wm[e.name] = "part-1.safetensors";
  write_file_atomic(m + "/model.safetensors.index.json", Json({{"weight_map", wm}}).dump());
  EXPECT_NO_THROW(Decoder::load(m));
  wm["model.norm.weight"] = "part-2.safetensors";
  write_file_atomic(m + "/model.safetensors.index.json", Json({{"weight_map", wm}}).dump());
  expect_error([&] { Decoder::load(m); }, {"part-2.safetensors", "does not exist"});
  wm["model.norm.weight"] = "../escape.safetensors";
  write_file_atomic(m + "/model.safetensors.index.json", Json({{"weight_map", wm}}).dump());
  expect_error([&] { Decoder::load(m); }, {"plain file name"});
}

TEST(ModelForwardErrors, TokenOutsideVocabulary) {
  Decoder d(ModelConfig::from_json(small_config(), "test"));
  const auto batch = model::TokenBatch::padded({{1, 2, 50}});
  expect_error([&] { d.forward(batch, {}); }, {"model.batch.input_ids", "token id 50", "[0, 50)"});
}

}  // namespace
}  // namespace tandem
