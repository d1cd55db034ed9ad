// `tandem init-model`: writes a randomly initialised HF model folder (config.json +
// model.safetensors) that transformers loads, for tests, benchmarks and demos.
#include "cli/command.h"
#include "cli/random_model.h"
#include "core/log.h"

namespace tandem::cli {
namespace {

struct Opts {
  RandomModelSpec spec;
  std::string out, dtype = "f32";
};

int run(const Opts& o) {
  DType dt = DType::kF32;
  if (o.dtype == "bf16") dt = DType::kBF16;
  else if (o.dtype == "f16") dt = DType::kF16;
  else if (o.dtype != "f32") throw Error("init-model.dtype", cat("expected f32, bf16 or f16, got '", o.dtype, "'"));
  const Json cfg = random_model_config(o.spec);
  const int64_t n = write_random_model(o.spec, o.out, dt);
  log_info("init-model: wrote ", cfg["architectures"][0].get<std::string>(), " with ", n, " parameters to ", o.out);
  return 0;
}

Registrar reg({"init-model", "write a randomly initialised Hugging Face model folder", [](CLI::App& sub) {
                 auto o = std::make_shared<Opts>();
                 sub.add_option("--arch", o->spec.arch, "qwen3 | qwen2 | llama | mistral")->capture_default_str();
                 sub.add_option("--layers", o->spec.layers, "num_hidden_layers")->capture_default_str();
                 sub.add_option("--hidden", o->spec.hidden, "hidden_size")->capture_default_str();
                 sub.add_option("--heads", o->spec.heads, "num_attention_heads")->capture_default_str();
                 sub.add_option("--kv-heads", o->spec.kv_heads, "num_key_value_heads (default: heads)");
                 sub.add_option("--intermediate", o->spec.intermediate, "intermediate_size")->capture_default_str();
                 sub.add_option("--vocab", o->spec.vocab, "vocab_size")->capture_default_str();
                 sub.add_option("--head-dim", o->spec.head_dim, "head_dim (default hidden/heads)");
                 sub.add_option("--max-pos", o->spec.max_pos, "max_position_embeddings")->capture_default_str();
                 sub.add_option("--rope-theta", o->spec.rope_theta, "rope_theta")->capture_default_str();
                 sub.add_option("--rope-scaling", o->spec.rope_scaling, "rope_scaling as JSON, e.g. '{\"rope_type\":\"linear\",\"factor\":2}'");
                 sub.add_option("--sliding-window", o->spec.sliding_window, "sliding_window (0 = none)");
                 sub.add_option("--max-window-layers", o->spec.max_window_layers, "Qwen2/3: layers >= this use the window");
                 sub.add_option("--init-range", o->spec.init_range, "initializer_range")->capture_default_str();
                 sub.add_option("--rms-eps", o->spec.rms_eps, "rms_norm_eps")->capture_default_str();
                 sub.add_flag("--tie", o->spec.tie, "tie_word_embeddings");
                 sub.add_flag("--bias", o->spec.bias, "attention_bias (Llama/Mistral/Qwen3; Qwen2 always has q/k/v bias)");
                 sub.add_flag("--score-head", o->spec.score, "a *ForSequenceClassification model with score.weight [1, hidden]");
                 sub.add_option("--dtype", o->dtype, "f32 | bf16 | f16 on disk")->capture_default_str();
                 sub.add_option("--seed", o->spec.seed, "initialisation seed")->capture_default_str();
                 sub.add_option("--out", o->out, "output folder")->required();
                 return std::function<int()>([o] { return run(*o); });
               }});

}  // namespace
}  // namespace tandem::cli
