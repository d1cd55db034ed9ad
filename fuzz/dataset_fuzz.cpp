// libFuzzer entry for the dataset target of fuzz/targets.h (built by scripts/fuzz.sh, clang only).
// The four tokenizers load before the first input, outside the 10 s per-input timeout.
#include "targets.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tandem::fuzz::dataset_init();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tandem::fuzz::dataset_jsonl(data, size);
  return 0;
}
