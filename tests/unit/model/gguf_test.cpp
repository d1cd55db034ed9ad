// GGUF writing and reading: every metadata type round-trips, tensor data lands aligned in each
// export dtype, Q8_0 follows its definition (f16 scale = max|x|/127, int8 = round(x/scale)),
// the Llama RoPE row permutation is the one stated in gguf_export.h (and absent for Qwen), and a
// damaged file is an Error at every truncation point, never a crash.
// `tandem export` refuses bad requests with messages that say why and round-trips an HF folder.
// Whether llama.cpp agrees is tests/parity/gguf_llama_cpp_test.cpp's job.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "core/file.h"
#include "core/json.h"
#include "model/gguf_export.h"
#include "model/gguf_reader.h"
#include "model/gguf_writer.h"
#include "model/init.h"
#include "model/safetensors.h"
#include "tensor/dtype.h"
#include "testing/testing.h"

namespace tandem {
namespace {

using model::GgmlType;
using model::GgufReader;
using model::GgufValue;
using model::GgufWriter;

GgufWriter::Producer from(std::vector<float> v, GgmlType t) {
  return [v = std::move(v), t](uint8_t* out) { model::f32_to_ggml(t, v.data(), int64_t(v.size()), out); };
}

TEST(Gguf, MetadataOfEveryTypeRoundTrips) {
  testing::TempDir d("gguf-kv");
  GgufWriter w;
  w.set("a.u32", GgufValue::u32(4000000000u));
  w.set("a.i32", GgufValue::i32(-7));
  w.set("a.u64", GgufValue::u64(1ull << 40));
  w.set("a.f32", GgufValue::f32(0.25f));
  w.set("a.bool", GgufValue::boolean(true));
  w.set("a.str", GgufValue::string("h\xc3\xa9llo \n{{ x }}"));
  w.set("a.strs", GgufValue::string_array({"", "x y", "\xe2\x96\x81tok"}));
  w.set("a.ints", GgufValue::i32_array({1, -2, 3}));
  w.set("a.uints", GgufValue::u32_array({7, 8}));
  w.set("a.floats", GgufValue::f32_array({-1.5, 1e-6}));
  w.set("a.i32", GgufValue::i32(-8));  // replaces, keeps its position
  w.write(d.file("kv.gguf"));
  GgufReader r(d.file("kv.gguf"));
  EXPECT_EQ(r.version(), 3u);
  ASSERT_EQ(r.metadata().size(), 10u);
  EXPECT_EQ(r.metadata()[1].first, "a.i32");
  EXPECT_EQ(r.find("a.u32")->i, 4000000000ll);
  EXPECT_EQ(r.find("a.i32")->i, -8);
  EXPECT_EQ(r.find("a.u64")->u, 1ull << 40);
  EXPECT_EQ(r.find("a.f32")->f, 0.25);
  EXPECT_EQ(r.find("a.bool")->i, 1);
  EXPECT_EQ(r.find("a.str")->s, "h\xc3\xa9llo \n{{ x }}");
  EXPECT_EQ(r.find("a.strs")->strs, (std::vector<std::string>{"", "x y", "\xe2\x96\x81tok"}));
  EXPECT_EQ(r.find("a.ints")->ints, (std::vector<int64_t>{1, -2, 3}));
  EXPECT_EQ(r.find("a.uints")->elem, model::GgufType::kU32);
  EXPECT_EQ(r.find("a.floats")->floats[0], -1.5);
  EXPECT_FLOAT_EQ(float(r.find("a.floats")->floats[1]), 1e-6f);
  for (const auto& [k, v] : r.metadata()) {
    const GgufValue* mine = nullptr;
    for (const char* key : {"a.u32", "a.i32", "a.u64", "a.bool", "a.str", "a.strs", "a.ints", "a.uints"})
      if (k == key) mine = &v;
    if (mine) { EXPECT_TRUE(*mine == *r.find(k)) << k; }
  }
}

TEST(Gguf, TensorsAreAlignedAndReadBackInEachType) {
  testing::TempDir d("gguf-t");
  const std::vector<float> x = testing::randn(64 * 3, 5);
  GgufWriter w;
  w.add_tensor("t.f32", GgmlType::kF32, {64, 3}, from(x, GgmlType::kF32));
  w.add_tensor("t.f16", GgmlType::kF16, {64, 3}, from(x, GgmlType::kF16));
  w.add_tensor("t.bf16", GgmlType::kBF16, {64, 3}, from(x, GgmlType::kBF16));
  w.add_tensor("t.q8", GgmlType::kQ8_0, {64, 3}, from(x, GgmlType::kQ8_0));
  w.add_tensor("odd", GgmlType::kF32, {3}, from({1, 2, 3}, GgmlType::kF32));
  const uint64_t size = w.write(d.file("t.gguf"));
  EXPECT_EQ(size, read_file(d.file("t.gguf")).size());
  GgufReader r(d.file("t.gguf"));
  EXPECT_EQ(r.data_offset() % 32, 0u);
  ASSERT_EQ(r.tensors().size(), 5u);
  for (const auto& t : r.tensors()) EXPECT_EQ(t.offset % 32, 0u) << t.name;
  EXPECT_EQ(r.find_tensor("t.q8")->nbytes, 3u * 2 * 34);
  EXPECT_EQ(r.find_tensor("t.f32")->ne, (std::vector<int64_t>{64, 3}));
  EXPECT_EQ(r.read_f32(*r.find_tensor("t.f32")), x);
  const auto f16 = r.read_f32(*r.find_tensor("t.f16")), bf16 = r.read_f32(*r.find_tensor("t.bf16"));
  for (size_t i = 0; i < x.size(); ++i) {
    EXPECT_EQ(f16[i], f16_to_f32(f32_to_f16(x[i])));
    EXPECT_EQ(bf16[i], bf16_to_f32(f32_to_bf16(x[i])));
  }
  EXPECT_EQ(r.read_f32(*r.find_tensor("odd")), (std::vector<float>{1, 2, 3}));
}

TEST(Gguf, Q8_0FollowsItsDefinition) {
  // One block of x_j = j - 16 (max |x| = 16) and one of zeros.
  std::vector<float> x(64, 0.f);
  for (int j = 0; j < 32; ++j) x[j] = float(j - 16);
  std::vector<uint8_t> q(68);
  model::f32_to_ggml(GgmlType::kQ8_0, x.data(), 64, q.data());
  uint16_t dh;
  std::memcpy(&dh, q.data(), 2);
  EXPECT_EQ(dh, f32_to_f16(16.f / 127.f));
  EXPECT_EQ(int8_t(q[2 + 0]), -127);  // -16 / (16/127)
  EXPECT_EQ(int8_t(q[2 + 16]), 0);
  EXPECT_EQ(int8_t(q[2 + 17]), 8);    // 1 * 127/16 = 7.94 -> 8
  EXPECT_EQ(int8_t(q[2 + 31]), 119);  // 15 * 127/16 = 119.06
  std::memcpy(&dh, q.data() + 34, 2);
  EXPECT_EQ(dh, 0);
  std::vector<float> back(64);
  model::ggml_to_f32(GgmlType::kQ8_0, q.data(), 64, back.data());
  for (int j = 0; j < 64; ++j) EXPECT_LE(std::abs(back[j] - x[j]), 16.f / 127.f / 2 * 1.01f) << j;
}

TEST(Gguf, WriterRefusesWhatGgmlCannotHold) {
  GgufWriter w;
  EXPECT_THROW(w.add_tensor("q", GgmlType::kQ8_0, {48, 2}, nullptr), Error);  // not whole blocks
  EXPECT_THROW(w.add_tensor(std::string(64, 'n'), GgmlType::kF32, {1}, nullptr), Error);
  EXPECT_THROW(w.add_tensor("z", GgmlType::kF32, {0}, nullptr), Error);
  w.add_tensor("a", GgmlType::kF32, {1}, from({1}, GgmlType::kF32));
  EXPECT_THROW(w.add_tensor("a", GgmlType::kF32, {1}, nullptr), Error);
}

TEST(Gguf, DamagedFilesAreErrorsAtEveryTruncation) {
  testing::TempDir d("gguf-bad");
  GgufWriter w;
  w.set("general.architecture", GgufValue::string("llama"));
  w.set("x.arr", GgufValue::string_array({"a", "bc"}));
  w.add_tensor("t", GgmlType::kQ8_0, {32, 2}, from(std::vector<float>(64, 1.f), GgmlType::kQ8_0));
  w.write(d.file("ok.gguf"));
  const std::string good = read_file(d.file("ok.gguf"));
  const auto* p = reinterpret_cast<const uint8_t*>(good.data());
  const GgufReader ok(p, good.size(), "ok");
  // Every cut before the end of the last tensor's data is an error; the padding after it is optional.
  const size_t end = ok.data_offset() + ok.tensors()[0].offset + ok.tensors()[0].nbytes;
  for (size_t n = 0; n < good.size(); ++n) {
    if (n < end) {
      EXPECT_THROW(GgufReader(p, n, "cut"), Error) << n;
    } else {
      EXPECT_NO_THROW(GgufReader(p, n, "cut")) << n;
    }
  }
  auto mutated = [&](size_t at, uint64_t value, size_t width) {
    std::string b = good;
    std::memcpy(b.data() + at, &value, width);
    return b;
  };
  auto expect_bad = [](const std::string& b, const std::string& needle) {
    try {
      GgufReader(reinterpret_cast<const uint8_t*>(b.data()), b.size(), "mutated");
      ADD_FAILURE() << "accepted; expected an error mentioning " << needle;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expect_bad(mutated(0, 'X', 1), "magic");
  expect_bad(mutated(4, 2, 4), "version");
  expect_bad(mutated(16, uint64_t(1) << 40, 8), "exceed");          // metadata count
  const size_t arr_count = 24 + 8 + 20 + 4 + 8 + 5 + 8 + 5 + 4 + 4;  // header, key 1, its value, key 2, types
  expect_bad(mutated(arr_count, uint64_t(1) << 50, 8), "array");
  expect_bad(mutated(arr_count, 1000, 8), "truncated");
}

// A tiny model with distinct weights, exported; the reader sees llama.cpp's names and layouts.
TEST(GgufExport, NamesLayoutsAndRopePermutation) {
  for (const std::string arch : {"LlamaForCausalLM", "Qwen3ForCausalLM"}) {
    Json j = {{"architectures", {arch}}, {"hidden_size", 32}, {"intermediate_size", 64}, {"num_hidden_layers", 2},
              {"num_attention_heads", 4}, {"num_key_value_heads", 2}, {"head_dim", 4}, {"vocab_size", 40},
              {"rms_norm_eps", 1e-5}, {"rope_theta", 5000.0}, {"tie_word_embeddings", false}, {"attention_bias", true}};
    if (arch[0] == 'Q') j["attention_bias"] = false;
    const model::ModelConfig cfg = model::ModelConfig::from_json(j, "test");
    model::ParamSet p(cfg, false);
    model::init_random(p, 0.5, 9);
    testing::TempDir d("gguf-export");
    GgufWriter w;
    model::add_model_to_gguf(w, cfg, p, GgmlType::kQ8_0, "tiny");
    w.write(d.file("m.gguf"));
    GgufReader r(d.file("m.gguf"));
    const std::string a = arch[0] == 'L' ? "llama" : "qwen3";
    EXPECT_EQ(r.find("general.architecture")->s, a);
    EXPECT_EQ(r.find(a + ".attention.key_length")->i, 4);  // 4 heads * 4 != 32
    EXPECT_EQ(r.find(a + ".block_count")->i, 2);
    EXPECT_FLOAT_EQ(float(r.find(a + ".rope.freq_base")->f), 5000.f);
    EXPECT_EQ(r.find("general.file_type")->i, 7);
    // Norms stay f32 in a q8_0 export; matrices are q8_0 with dims innermost first.
    EXPECT_EQ(r.find_tensor("blk.1.attn_norm.weight")->type, GgmlType::kF32);
    EXPECT_EQ(r.find_tensor("blk.0.ffn_down.weight")->type, GgmlType::kQ8_0);
    EXPECT_EQ(r.find_tensor("blk.0.ffn_down.weight")->ne, (std::vector<int64_t>{64, 32}));
    EXPECT_EQ(r.find_tensor("token_embd.weight")->ne, (std::vector<int64_t>{32, 40}));
    EXPECT_NE(r.find_tensor("output.weight"), nullptr);
    EXPECT_EQ(r.find_tensor("blk.0.attn_q_norm.weight") != nullptr, a == "qwen3");
    EXPECT_EQ(r.find_tensor("blk.0.attn_output.bias") != nullptr, a == "llama");
    const size_t per_layer = a == "llama" ? 13 : 11;  // norms 2, qkv 3 (+3 bias), o (+bias), mlp 3, (q/k norm 2)
    EXPECT_EQ(r.tensors().size(), 3 + 2 * per_layer);
    // attn_k row (head h, 2j+s) holds HF k_proj row (h, s*D/2+j) for llama; the same row for qwen3.
    const Tensor& k = p.find("model.layers.1.self_attn.k_proj.weight")->tensor;
    const Tensor& kb = p.find("model.layers.1.self_attn.k_proj.bias") ? p.find("model.layers.1.self_attn.k_proj.bias")->tensor : Tensor();
    const auto got = r.read_f32(*r.find_tensor("blk.1.attn_k.weight"));
    const int64_t D = 4, C = 32;
    std::vector<float> want_row(C);
    for (int64_t h = 0; h < 2; ++h)
      for (int64_t j2 = 0; j2 < D / 2; ++j2)
        for (int64_t s = 0; s < 2; ++s) {
          const int64_t dst = h * D + 2 * j2 + s, src = a == "llama" ? h * D + s * D / 2 + j2 : dst;
          std::vector<float> row(k.f32() + src * C, k.f32() + (src + 1) * C), q8(C);
          std::vector<uint8_t> tmp(34 * C / 32);
          model::f32_to_ggml(GgmlType::kQ8_0, row.data(), C, tmp.data());
          model::ggml_to_f32(GgmlType::kQ8_0, tmp.data(), C, q8.data());
          EXPECT_EQ(std::vector<float>(got.begin() + dst * C, got.begin() + (dst + 1) * C), q8) << a << " row " << dst;
          if (kb.defined()) { EXPECT_EQ(r.read_f32(*r.find_tensor("blk.1.attn_k.bias"))[dst], kb.f32()[src]); }
        }
  }
}

TEST(GgufExport, UnsupportedConfigurationsAreErrors) {
  Json j = {{"architectures", {"Qwen3ForCausalLM"}}, {"hidden_size", 32}, {"intermediate_size", 64},
            {"num_hidden_layers", 1}, {"num_attention_heads", 4}, {"num_key_value_heads", 2}, {"head_dim", 8},
            {"vocab_size", 40}, {"attention_bias", true}};
  EXPECT_THROW(model::gguf_arch(model::ModelConfig::from_json(j, "t")), Error);  // o_proj bias
  j["architectures"] = {"Qwen2ForCausalLM"};
  j["head_dim"] = 16;  // 4 * 16 != 32
  EXPECT_THROW(model::gguf_arch(model::ModelConfig::from_json(j, "t")), Error);
  EXPECT_THROW(model::gguf_dtype_from_name("q4_0"), Error);
  j["head_dim"] = 8;
  j["rope_scaling"] = {{"rope_type", "llama3"}, {"factor", 8.0}, {"original_max_position_embeddings", 1024}};
  const model::ModelConfig c = model::ModelConfig::from_json(j, "t");
  model::ParamSet p(c, false);
  GgufWriter w;
  EXPECT_THROW(model::add_model_to_gguf(w, c, p, GgmlType::kF32), Error);  // llama3 rope on qwen2
}

}  // namespace
}  // namespace tandem

namespace tandem {
namespace {

// `tandem export` on bad requests: each refusal names what is wrong; nothing is left behind.
TEST(ExportCli, RefusalsAreClearAndHfRoundTrips) {
  testing::TempDir d("export-cli");
  const std::string bin = testing::tandem_binary(), m = d.file("m");
  std::string out;
  ASSERT_EQ(testing::run_command(cat(bin, " init-model --arch qwen3 --layers 1 --hidden 32 --heads 2 --intermediate 64 "
                                     "--vocab 64 --seed 1 --out ", m), &out), 0) << out;
  auto expect_refusal = [&](const std::string& args, const std::string& needle) {
    std::string o;
    EXPECT_NE(testing::run_command(cat(bin, " export --model ", m, " ", args), &o), 0) << args;
    EXPECT_NE(o.find(needle), std::string::npos) << args << " -> " << o;
  };
  expect_refusal("--to gguf --out " + d.file("x.gguf"), "no tokenizer.json");
  expect_refusal("--to gguf --dtype q4_0 --out " + d.file("x.gguf"), "q4_0");
  expect_refusal("--to hf --dtype q8_0 --out " + d.file("x"), "f32, bf16 or f16");
  expect_refusal("--to merged --out " + d.file("x"), "not supported yet");
  expect_refusal("--to hf --adapter " + d.file("a") + " --out " + d.file("x"), "not supported yet");
  expect_refusal("--to onnx --out " + d.file("x"), "expected hf, merged or gguf");
  EXPECT_FALSE(file_exists(d.file("x.gguf")));
  EXPECT_FALSE(file_exists(d.file("x")));

  // HF round trip in bf16: config says bfloat16, side files are copied, an existing folder is refused.
  write_file_atomic(m + "/generation_config.json", "{\"eos_token_id\": 1}\n");
  ASSERT_EQ(testing::run_command(cat(bin, " export --model ", m, " --to hf --dtype bf16 --out ", d.file("h")), &out), 0) << out;
  EXPECT_EQ(Json::parse(read_file(d.file("h/config.json")))["torch_dtype"], "bfloat16");
  EXPECT_EQ(read_file(d.file("h/generation_config.json")), read_file(m + "/generation_config.json"));
  model::SafetensorsFile st(d.file("h/model.safetensors"));
  EXPECT_EQ(st.entries()[0].dtype, DType::kBF16);
  expect_refusal("--to hf --out " + d.file("h"), "already exists");

  // A Qwen3 with an o_proj bias has no llama.cpp equivalent.
  const std::string mb = d.file("mb");
  ASSERT_EQ(testing::run_command(cat(bin, " init-model --arch qwen3 --layers 1 --hidden 32 --heads 2 --intermediate 64 "
                                     "--vocab 64 --bias --out ", mb), &out), 0) << out;
  std::string o;
  EXPECT_NE(testing::run_command(cat(bin, " export --model ", mb, " --to gguf --out ", d.file("b.gguf")), &o), 0);
  EXPECT_NE(o.find("o_proj bias"), std::string::npos) << o;
}

}  // namespace
}  // namespace tandem

#include "tokenizer/gguf_vocab.h"

namespace tandem {
namespace {

// The tokenizer metadata of a small hand-made byte-level BPE: ids, types, padding up to the
// embedding rows, merges, special ids, add_bos as the post-processor does it; an unknown
// pre-tokenizer is refused.
TEST(GgufVocab, ByteLevelBpeMetadataAndRefusals) {
  testing::TempDir d("gguf-vocab");
  Json tj = {{"version", "1.0"},
             {"added_tokens", Json::array({{{"id", 4}, {"content", "<|endoftext|>"}, {"special", true},
                                            {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                                            {"normalized", false}},
                                           {{"id", 5}, {"content", "<tool>"}, {"special", false},
                                            {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                                            {"normalized", false}}})},
             {"normalizer", nullptr},
             {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
             {"post_processor", nullptr},
             {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", true}}},
             {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
                        {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false},
                        {"vocab", {{"a", 0}, {"b", 1}, {"ab", 2}, {"\xc4\xa0", 3}}}, {"merges", Json::array({Json::array({"a", "b"})})}}}};
  write_file_atomic(d.file("tokenizer.json"), tj.dump());
  write_file_atomic(d.file("tokenizer_config.json"),
                    Json({{"eos_token", "<|endoftext|>"}, {"chat_template", "{{ messages[0]['content'] }}"}}).dump());
  GgufWriter w;
  const auto info = tokenizer::add_tokenizer_to_gguf(w, d.path(), 8);
  EXPECT_EQ(info.model, "gpt2");
  EXPECT_EQ(info.pre, "gpt-2");
  EXPECT_EQ(w.get("tokenizer.ggml.tokens")->strs,
            (std::vector<std::string>{"a", "b", "ab", "\xc4\xa0", "<|endoftext|>", "<tool>", "[PAD6]", "[PAD7]"}));
  EXPECT_EQ(w.get("tokenizer.ggml.token_type")->ints, (std::vector<int64_t>{1, 1, 1, 1, 3, 4, 5, 5}));
  EXPECT_EQ(w.get("tokenizer.ggml.merges")->strs, (std::vector<std::string>{"a b"}));
  EXPECT_EQ(w.get("tokenizer.ggml.eos_token_id")->i, 4);
  EXPECT_EQ(w.get("tokenizer.ggml.bos_token_id"), nullptr);
  EXPECT_EQ(w.get("tokenizer.ggml.add_bos_token")->i, 0);
  EXPECT_EQ(w.get("tokenizer.chat_template")->s, "{{ messages[0]['content'] }}");
  GgufWriter w2;
  EXPECT_THROW(tokenizer::add_tokenizer_to_gguf(w2, d.path(), 5), Error);  // id 5 beyond the embedding rows
  tj["pre_tokenizer"] = {{"type", "Whitespace"}};
  write_file_atomic(d.file("tokenizer.json"), tj.dump());
  try {
    tokenizer::add_tokenizer_to_gguf(w2, d.path(), 8);
    ADD_FAILURE() << "an unknown pre-tokenizer was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pre-tokenizer"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tandem
