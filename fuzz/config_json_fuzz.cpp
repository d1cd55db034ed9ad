// libFuzzer entry for the config_json target of fuzz/targets.h (built by scripts/fuzz.sh, clang only).
#include "targets.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tandem::fuzz::config_json(data, size);
  return 0;
}
