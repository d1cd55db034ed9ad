#!/usr/bin/env bash
# Installs everything Tandem needs on a fresh Debian 12 machine (apt-get only; npm packages for
# the test references), then configures and builds Release into build/.
# Usage: scripts/setup.sh [--tests]   (--tests also installs the test references and clang-14 for fuzzing)
set -euo pipefail
cd "$(dirname "$0")/.."
want_tests=0
[ "${1:-}" = "--tests" ] && want_tests=1

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
pkgs=(build-essential cmake ninja-build pkg-config
      libdnnl-dev libopenblas-openmp-dev libpcre2-dev libutf8proc-dev
      nlohmann-json3-dev libyaml-cpp-dev libcli11-dev libfmt-dev
      libgtest-dev libgmock-dev libbenchmark-dev gnuplot-nox
      libopenmpi-dev openmpi-bin)
if [ $want_tests -eq 1 ]; then
  pkgs+=(python3-torch python3-jinja2 python3-numpy python3-protobuf)
  # The fuzz harnesses (scripts/fuzz.sh): Debian's clang, its libFuzzer and sanitizer runtimes,
  # and llvm-symbolizer (llvm-14) so that a finding's stack trace names files and lines.
  pkgs+=(clang-14 libclang-rt-14-dev llvm-14)
  # Node.js may come from another packaging (nodesource bundles npm): ask for Debian's only if absent.
  command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
  command -v npm >/dev/null 2>&1 || pkgs+=(npm)
fi
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ $want_tests -eq 1 ] && [ -f tests/package.json ]; then
  # Real tokenizers/templates and the reference implementations the tests compare against.
  # `npm install` with the committed lock file, not `npm ci`: ci refuses node-llama-cpp's lock
  # because its other platforms' optional packages are not in it; install keeps the locked versions.
  (cd tests && npm install --omit=optional --no-audit --no-fund --loglevel=error)
fi

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"
