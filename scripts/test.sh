#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds Release and runs the whole test suite with CTest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --tests
cd build
ctest --output-on-failure -j"$(nproc)" --timeout 1200
