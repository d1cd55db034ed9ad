#!/usr/bin/env bash
# Builds llama.cpp's llama-bench and llama-batched-bench (CPU, -DGGML_NATIVE=ON, no curl) from the
# source that the npm package node-llama-cpp ships as a git bundle (llama/gitRelease.bundle), and
# writes the SmolLM2-135M-shape model (random weights, `tandem init-model`) as GGUF f32 and bf16
# with bench/rollout/make_gguf.py. Everything goes to a scratch folder (default /tmp/tandem-llama-cpp);
# nothing is installed into the repository. Then run bench/rollout/llama_cpp_bench.sh.
#   bench/rollout/build_llama_cpp.sh [SCRATCH] [TANDEM_BINARY]
# Needs npm (first run only, to fetch node-llama-cpp), cmake, a C/C++ compiler, /usr/bin/python3 with numpy.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
scratch="${1:-/tmp/tandem-llama-cpp}"
tandem="${2:-$root/build/src/tandem}"
jobs="${JOBS:-$(nproc)}"
mkdir -p "$scratch"
cd "$scratch"

if [ ! -f npm/node_modules/node-llama-cpp/llama/gitRelease.bundle ]; then
  mkdir -p npm
  (cd npm && npm install --no-save --omit=optional --ignore-scripts node-llama-cpp >/dev/null)
fi
if [ ! -d llama.cpp/.git ]; then
  git clone -q npm/node_modules/node-llama-cpp/llama/gitRelease.bundle llama.cpp
fi
echo "llama.cpp: $(cat npm/node_modules/node-llama-cpp/llama/llama.cpp.info.json | tr -d '\n ') commit $(git -C llama.cpp rev-parse --short HEAD)"

cmake -S llama.cpp -B llama.cpp/build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF -DLLAMA_OPENSSL=OFF \
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_SERVER=OFF -DGGML_CCACHE=OFF -DBUILD_SHARED_LIBS=OFF >/dev/null
cmake --build llama.cpp/build -j "$jobs" --target llama-bench llama-batched-bench >/dev/null
ls -l llama.cpp/build/bin/llama-bench llama.cpp/build/bin/llama-batched-bench

# The SmolLM2-135M shape of bench/e2e/rollout_bench.cpp's preset (Llama, tied embeddings).
if [ ! -f smollm2/model.safetensors ]; then
  "$tandem" init-model --arch llama --layers 30 --hidden 576 --heads 9 --kv-heads 3 --head-dim 64 --intermediate 1536 \
    --vocab 49152 --max-pos 4096 --rope-theta 100000 --rms-eps 1e-5 --tie --seed 0 --out smollm2
fi
for dt in f32 bf16; do
  [ -f "smollm2-$dt.gguf" ] || PYTHONPATH=llama.cpp/gguf-py /usr/bin/python3 "$here/make_gguf.py" smollm2 "smollm2-$dt.gguf" --dtype "$dt"
done
