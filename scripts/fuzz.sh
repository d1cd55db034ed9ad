#!/usr/bin/env bash
# Builds the libFuzzer harnesses of fuzz/ with clang-14 (ASan + UBSan + coverage) into
# build-fuzz/, writes the seed corpora (fuzz/make_corpus.py, from the tests' own files) and runs
# every harness (or the ones named) for a fixed budget. Any crash, leak, sanitizer report,
# timeout (>10 s per input) or out-of-memory (>2 GB) fails the script and leaves the input in
# build-fuzz/artifacts/<harness>/; fix it, then copy the input to tests/regression/<harness>/.
# Usage: scripts/fuzz.sh [--seconds N | --runs N] [harness...]   (default --seconds 45, all)
set -euo pipefail
cd "$(dirname "$0")/.."
budget=(-max_total_time=45)
harnesses=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) budget=(-max_total_time="$2"); shift 2 ;;
    --runs) budget=(-runs="$2"); shift 2 ;;
    *) harnesses+=("$1"); shift ;;
  esac
done
CXX=${FUZZ_CXX:-clang++-14}
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Fuzz -DCMAKE_CXX_FLAGS_FUZZ="-O1 -gline-tables-only" -DCMAKE_CXX_COMPILER="$CXX" \
  -DTANDEM_FUZZ=ON -DTANDEM_BUILD_TESTS=OFF -DTANDEM_BUILD_BENCH=OFF -DTANDEM_NATIVE=OFF "${launcher[@]}" >/dev/null
cmake --build build-fuzz -j"$(nproc)" --target fuzz_all
[ ${#harnesses[@]} -eq 0 ] && harnesses=($(cd fuzz && ls *_fuzz.cpp | sed 's/_fuzz.cpp$//'))

corpus=build-fuzz/corpus
# The GGUF seeds are written by the Release binary's `tandem export` (scripts/setup.sh builds it).
tandem_bin=${TANDEM_BIN:-build/src/tandem}
[ -x "$tandem_bin" ] || { echo "fuzz.sh: $tandem_bin not built, the gguf harness starts without export-written seeds"; tandem_bin=""; }
python3 fuzz/make_corpus.py . build-fuzz/seeds $tandem_bin
export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:abort_on_error=1:symbolize=1
# Debian's llvm-14 installs the symbolizer under a versioned name only.
[ -z "${ASAN_SYMBOLIZER_PATH:-}" ] && [ -x /usr/bin/llvm-symbolizer-14 ] && export ASAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer-14
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
status=0
for h in "${harnesses[@]}"; do
  mkdir -p "$corpus/$h" "build-fuzz/artifacts/$h" "build-fuzz/seeds/$h" "tests/regression/$h"
  log=build-fuzz/$h.log
  start=$(date +%s)
  # The regression inputs join the seeds: they are the likeliest places for a bug to come back.
  if build-fuzz/fuzz/${h}_fuzz "$corpus/$h" "build-fuzz/seeds/$h" "tests/regression/$h" "${budget[@]}" \
       -timeout=10 -rss_limit_mb=2048 -max_len=131072 -print_final_stats=1 \
       -artifact_prefix="build-fuzz/artifacts/$h/" >"$log" 2>&1; then
    result=ok
  else
    result=FAILED; status=1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  echo "fuzz $h: $result, $runs inputs in $(( $(date +%s) - start )) s (log $log)"
  [ "$result" = ok ] || tail -40 "$log"
done
exit $status
