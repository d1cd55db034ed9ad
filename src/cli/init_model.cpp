// `tandem init-model`: writes a randomly initialised HF model folder (config.json +
// model.safetensors) that transformers loads, for tests, benchmarks and demos.
#include "cli/command.h"
#include "core/json.h"
#include "core/log.h"
#include "model/decoder.h"
#include "model/init.h"

namespace tandem::cli {
namespace {

struct Opts {
  std::string arch = "qwen3", out, rope_scaling, dtype = "f32";
  int64_t layers = 2, hidden = 64, heads = 4, kv_heads = 0, intermediate = 128, vocab = 256, head_dim = 0;
  int64_t max_pos = 4096, sliding_window = 0, max_window_layers = 0;
  double rope_theta = 10000.0, init_range = 0.02, rms_eps = 1e-6;
  bool tie = false, bias = false, score = false;
  uint64_t seed = 0;
};

int run(const Opts& o) {
  static const std::map<std::string, std::string> kArch = {{"qwen3", "Qwen3"}, {"qwen2", "Qwen2"},
                                                           {"llama", "Llama"}, {"mistral", "Mistral"}};
  auto a = kArch.find(o.arch);
  if (a == kArch.end())
    throw Error("init-model.arch", cat("unknown '", o.arch, "', expected qwen3, qwen2, llama or mistral"));
  Json j;
  j["architectures"] = {a->second + (o.score ? "ForSequenceClassification" : "ForCausalLM")};
  j["model_type"] = o.arch;
  j["hidden_size"] = o.hidden;
  j["intermediate_size"] = o.intermediate;
  j["num_hidden_layers"] = o.layers;
  j["num_attention_heads"] = o.heads;
  j["num_key_value_heads"] = o.kv_heads > 0 ? o.kv_heads : o.heads;
  j["head_dim"] = o.head_dim > 0 ? o.head_dim : (o.heads > 0 ? o.hidden / o.heads : 0);
  j["vocab_size"] = o.vocab;
  j["max_position_embeddings"] = o.max_pos;
  j["rms_norm_eps"] = o.rms_eps;
  j["rope_theta"] = o.rope_theta;
  j["tie_word_embeddings"] = o.tie;
  j["hidden_act"] = "silu";
  j["initializer_range"] = o.init_range;
  j["bos_token_id"] = 0;
  j["eos_token_id"] = 1;
  if (o.arch != "qwen2") j["attention_bias"] = o.bias;
  if (o.score) j["num_labels"] = 1;
  if (!o.rope_scaling.empty()) j["rope_scaling"] = parse_json(o.rope_scaling, "--rope-scaling", "init-model.rope_scaling");
  if (o.sliding_window > 0) {
    j["sliding_window"] = o.sliding_window;
    if (o.arch == "qwen2" || o.arch == "qwen3") {
      j["use_sliding_window"] = true;
      j["max_window_layers"] = o.max_window_layers;
    }
  } else if (o.arch == "mistral") {
    j["sliding_window"] = nullptr;
  }
  DType dt = DType::kF32;
  if (o.dtype == "bf16") dt = DType::kBF16;
  else if (o.dtype == "f16") dt = DType::kF16;
  else if (o.dtype != "f32") throw Error("init-model.dtype", cat("expected f32, bf16 or f16, got '", o.dtype, "'"));
  model::ModelConfig cfg = model::ModelConfig::from_json(j, "init-model arguments");
  model::Decoder dec(cfg);
  model::init_random(dec.weights(), o.init_range, o.seed);
  dec.save(o.out, dt);
  log_info("init-model: wrote ", cfg.architecture, " with ", dec.weights().num_params(), " parameters to ", o.out);
  return 0;
}

Registrar reg({"init-model", "write a randomly initialised Hugging Face model folder", [](CLI::App& sub) {
                 auto o = std::make_shared<Opts>();
                 sub.add_option("--arch", o->arch, "qwen3 | qwen2 | llama | mistral")->capture_default_str();
                 sub.add_option("--layers", o->layers, "num_hidden_layers")->capture_default_str();
                 sub.add_option("--hidden", o->hidden, "hidden_size")->capture_default_str();
                 sub.add_option("--heads", o->heads, "num_attention_heads")->capture_default_str();
                 sub.add_option("--kv-heads", o->kv_heads, "num_key_value_heads (default: heads)");
                 sub.add_option("--intermediate", o->intermediate, "intermediate_size")->capture_default_str();
                 sub.add_option("--vocab", o->vocab, "vocab_size")->capture_default_str();
                 sub.add_option("--head-dim", o->head_dim, "head_dim (default hidden/heads)");
                 sub.add_option("--max-pos", o->max_pos, "max_position_embeddings")->capture_default_str();
                 sub.add_option("--rope-theta", o->rope_theta, "rope_theta")->capture_default_str();
                 sub.add_option("--rope-scaling", o->rope_scaling, "rope_scaling as JSON, e.g. '{\"rope_type\":\"linear\",\"factor\":2}'");
                 sub.add_option("--sliding-window", o->sliding_window, "sliding_window (0 = none)");
                 sub.add_option("--max-window-layers", o->max_window_layers, "Qwen2/3: layers >= this use the window");
                 sub.add_option("--init-range", o->init_range, "initializer_range")->capture_default_str();
                 sub.add_option("--rms-eps", o->rms_eps, "rms_norm_eps")->capture_default_str();
                 sub.add_flag("--tie", o->tie, "tie_word_embeddings");
                 sub.add_flag("--bias", o->bias, "attention_bias (Llama/Mistral/Qwen3; Qwen2 always has q/k/v bias)");
                 sub.add_flag("--score-head", o->score, "a *ForSequenceClassification model with score.weight [1, hidden]");
                 sub.add_option("--dtype", o->dtype, "f32 | bf16 | f16 on disk")->capture_default_str();
                 sub.add_option("--seed", o->seed, "initialisation seed")->capture_default_str();
                 sub.add_option("--out", o->out, "output folder")->required();
                 return std::function<int()>([o] { return run(*o); });
               }});

}  // namespace
}  // namespace tandem::cli
