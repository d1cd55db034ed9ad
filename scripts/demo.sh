#!/usr/bin/env bash
# A newcomer's first command: set up a fresh Debian 12 machine, build Release, then run `tandem demo`
# (SFT, then GRPO, and a single-stage hybrid on a built-in addition task, from a random model, with a
# report). Extra arguments go to `tandem demo` (e.g. --quick, --out DIR, --seed S).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec build/src/tandem demo "$@"
