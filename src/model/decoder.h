// The decoder engine: per-token log-probs (and entropies, and a scalar head) of token batches,
// and the gradients of every parameter from per-token weights on those outputs.
// Explicit forward/backward per block (as llm.c), no autograd tape: forward(for_backward=true)
// keeps what each block's backward needs (or only each block's input with recompute), and
// backward() consumes it. The LM head is fused with the log-softmax (tensor/ops.h), so no
// [tokens, vocab] tensor is ever held.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "model/batch.h"
#include "model/config.h"
#include "model/lora.h"
#include "model/rope.h"
#include "model/weights.h"
#include "tensor/ops.h"

namespace tandem::model {

struct ForwardOptions {
  bool entropy = false;       // also compute per-token entropy of the next-token distribution
  bool value = false;         // also compute the scalar head at every token (needs a score head)
  bool for_backward = false;  // keep activations for backward()
  bool recompute = false;     // keep only block inputs; backward recomputes each block
  // false: attached LoRA adapters are skipped, so this forward is exactly the base model's (bit for
  // bit): the reference policy of DPO and RL under LoRA, with no second copy of the weights.
  bool adapters = true;
};

struct ForwardOutputs {
  Tensor logp;     // [B*T], 0 where the mask is 0 (see batch.h)
  Tensor entropy;  // [B*T] or undefined
  Tensor value;    // [B*T] or undefined; 0 on padding
};

// Told, during a backward, which trainable gradients are final, so that they can be reduced over
// ranks while the rest of the backward runs (train/grad_reduce.h). A backward finishes the
// trainable flat buffer from its end towards its start: after stage s, the gradients at
// [Decoder::grad_ready_offsets()[s], P) hold their final values for that backward. Stage 0 is the
// LM head, score head and final norm; stages 1..L are layers L-1..0; stage L+1 the embedding
// (offset 0). Gradients accumulate over a step's backwards, so only the step's last counts.
class GradReadyObserver {
 public:
  virtual ~GradReadyObserver() = default;
  virtual void last_backward_next() = 0;     // the next backward is this rank's last of the step
  virtual void stage_done(size_t stage) = 0;  // in every backward
  virtual void gradients_complete() = 0;     // no backward follows in this step (maybe none ran)
};

// Activation storage of one forward pass (decoder.cpp).
struct LayerCache;
struct SavedActivations;

class Decoder {
 public:
  Decoder(ModelConfig cfg, bool with_score = false);
  ~Decoder();
  // Reads config.json and the weights of an HF folder.
  static std::unique_ptr<Decoder> load(const std::string& dir, bool with_score = false);
  // Writes config.json and model.safetensors into dir (atomically each).
  void save(const std::string& dir, DType dtype = DType::kF32) const;

  const ModelConfig& config() const { return cfg_; }
  // The master weights (F32). A caller may write through the mutable reference, so taking it
  // counts as a change of the weights (weights_changed()).
  ParamSet& weights() {
    weights_changed();
    return *w_;
  }
  const ParamSet& weights() const { return *w_; }

  // Compute precision of the GEMMs (docs/engine.md, "bf16 compute"): F32 (the default) or BF16.
  // Under BF16 the projections and the LM head multiply with a bf16 copy of the weights
  // (gemm_weights()) and bf16-rounded activations, accumulating in F32; master weights, gradients,
  // optimizer, norms, attention, log-softmax and every reduction stay F32. LoRA adapters' small
  // GEMMs and the value head stay F32. Error("bf16") when the backend has no bf16 GEMMs.
  void set_compute_dtype(DType dtype);
  DType compute_dtype() const { return compute_; }
  // Whoever writes the weights in place through a reference taken earlier (an optimizer step, an
  // all-gather) calls this afterwards, so that the bf16 copy is made again before it is used.
  void weights_changed() { ++weights_version_; }
  // The weights the GEMMs read: weights() under F32; under BF16 the rounded copy, made again on
  // first use after each weights_changed() (once per optimizer step, not per GEMM).
  const ParamSet& gemm_weights() const;
  // Gradients of the base weights, allocated on first use; backward() accumulates into them.
  // Error while adapters are attached: the base is frozen then and has no gradient buffer.
  ParamSet& grads();
  void zero_grad();  // the trainable gradients (adapters' when attached, else the base's)

  // LoRA (lora.h). Attaching freezes the base: backward() then computes gradients of the adapters
  // and of activations only, with no base gradient buffer. ForwardOptions::adapters = false (one
  // forward) or adapters()->enabled = false (until switched back) gives exactly the base model.
  void attach_adapters(std::unique_ptr<LoraAdapters> adapters);
  std::unique_ptr<LoraAdapters> detach_adapters();
  LoraAdapters* adapters() { return lora_.get(); }
  const LoraAdapters* adapters() const { return lora_.get(); }
  // What an optimiser updates: the adapters' flat buffer when attached, else the base weights;
  // with the matching gradient buffer (allocated on first use) and the named views of both.
  // The flat buffer an optimizer updates in place (call weights_changed() after each update).
  Tensor& trainable_params();
  Tensor& trainable_grads();
  const std::vector<NamedParam>& trainable_named() const;
  const std::vector<NamedParam>& trainable_grads_named();

  // Where gradients become final in a backward (GradReadyObserver), L + 2 non-increasing offsets
  // into trainable_grads().
  std::vector<int64_t> grad_ready_offsets();
  // The observer (null: none) that stage_done() reaches; the trainer sets it, the algorithms
  // say when their last backward of a step comes and when the step's backwards are over.
  void set_grad_observer(GradReadyObserver* o) { grad_observer_ = o; }
  void last_backward_next() {
    if (grad_observer_) grad_observer_->last_backward_next();
  }
  void gradients_complete() {
    if (grad_observer_) grad_observer_->gradients_complete();
  }

  // An inference forward (for_backward = false) keeps nothing and leaves the activations of the
  // last kept forward alone, so a reference forward may run between a kept forward and its backward.
  ForwardOutputs forward(const TokenBatch& batch, const ForwardOptions& opt);
  // Accumulates dJ/dtheta into grads() for J = sum(dlogp * logp) + sum(dentropy * entropy)
  // + sum(dvalue * value) over the batch of the last forward(for_backward = true). Each argument
  // is [B*T] or undefined (= zeros). Releases the kept activations.
  void backward(const Tensor& dlogp, const Tensor& dentropy, const Tensor& dvalue);
  // forward + backward in one call, for per-token weights known before the forward (SFT's
  // constant coefficients): the LM head runs once per logits chunk instead of twice. Same results
  // as forward(for_backward) then backward(dlogp, dentropy, {}); opt.value is not supported here.
  ForwardOutputs forward_backward(const TokenBatch& batch, const Tensor& dlogp, const Tensor& dentropy,
                                  ForwardOptions opt = {});

  // Bytes held by kept activations right now (for reports and tests of recomputation).
  size_t activation_bytes() const;

 private:
  void ensure_rope(int64_t n_pos);
  Tensor gemm_operand(const Tensor& activation) const;  // rounded to the compute dtype (a copy) or itself
  void layer_forward(const SavedActivations& s, int64_t l, const Tensor& x_in, LayerCache& c, Tensor& x_out);
  LoraDropout lora_dropout(const SavedActivations& s, int64_t l, LoraTarget t) const;
  void check_trainable(const char* where) const;
  void layer_backward(int64_t l, LayerCache& c, Tensor& dx);
  // Embedding .. final norm into fresh activation storage (kept in saved_ by the caller that backwards).
  std::unique_ptr<SavedActivations> run_trunk(const TokenBatch& batch, const ForwardOptions& opt);
  void backward_trunk(Tensor& dhf);  // final norm .. embedding, from saved_

  ModelConfig cfg_;
  const Ops& ops_;
  std::unique_ptr<ParamSet> w_, g_;
  DType compute_ = DType::kF32;
  uint64_t weights_version_ = 0;
  mutable std::unique_ptr<ParamSet> lowp_;  // BF16 copy of w_ under bf16 compute
  mutable uint64_t lowp_version_ = ~uint64_t(0);
  std::unique_ptr<LoraAdapters> lora_;
  RopeTable rope_;
  int64_t rope_len_ = 0;
  std::unique_ptr<SavedActivations> saved_;
  GradReadyObserver* grad_observer_ = nullptr;
  void stage_done(size_t stage) {
    if (grad_observer_) grad_observer_->stage_done(stage);
  }
};

}  // namespace tandem::model
