// libFuzzer entry for the gguf target of fuzz/targets.h (built by scripts/fuzz.sh, clang only).
#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tandem::fuzz::gguf_file(data, size);
  return 0;
}
