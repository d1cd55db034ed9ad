#!/usr/bin/env bash
# Checks design.md's layer rule on the includes: a file under src/<layer> may include only its own
# layer and the layers listed before it. Prints every violation; exits 1 if any.
set -u
src=${1:?usage: layering_test.sh SRC_DIR}
layers=(core tensor backend dist model tokenizer data rollout reward objective train cli)
rank() { local i; for i in "${!layers[@]}"; do [ "${layers[$i]}" = "$1" ] && { echo "$i"; return; }; done; echo -1; }
bad=0
while IFS= read -r -d '' f; do
  rel=${f#"$src"/}
  own=${rel%%/*}
  r_own=$(rank "$own")
  while IFS= read -r inc; do
    top=${inc%%/*}
    r_inc=$(rank "$top")
    [ "$r_inc" -lt 0 ] && continue
    if [ "$r_inc" -gt "$r_own" ]; then
      echo "layering violation: $rel (layer $own) includes \"$inc\" (layer $top, higher)"
      bad=1
    fi
  done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
done < <(find "$src" -type f \( -name '*.h' -o -name '*.cpp' -o -name '*.cuh' -o -name '*.cu' \) -print0)
# backend/cuda must not include backend/cpu and vice versa: siblings, not layers.
if grep -rqE '#include "backend/cpu/' "$src/backend/cuda" 2>/dev/null; then echo "backend/cuda includes backend/cpu"; bad=1; fi
if grep -rqE '#include "backend/cuda/' "$src/backend/cpu" 2>/dev/null; then echo "backend/cpu includes backend/cuda"; bad=1; fi
[ $bad -eq 0 ] && echo "layering ok"
exit $bad
