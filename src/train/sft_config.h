// The configuration of `tandem sft`: the shared training keys plus the loss.
#pragma once
#include <string>

#include "train/train_config.h"

namespace tandem::train {

struct SftConfig : TrainConfig {
  std::string loss_type = "nll";  // nll | dft

  template <class V> void for_each_field(V&& v) {
    TrainConfig::for_each_field(v);
    v("loss_type", loss_type, "nll | dft");
  }

  void validate() const {
    TrainConfig::validate();
    if (loss_type != "nll" && loss_type != "dft")
      throw Error("loss_type", cat("expected nll or dft, got '", loss_type, "'"));
  }
};

}  // namespace tandem::train
