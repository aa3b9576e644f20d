#!/usr/bin/env bash
# Fits every library drill back from its own OpenMetrics export and prints one Markdown row
# per drill: the fitted traffic's stages and RMS, and the goodness report's worst row (the
# fitted drill simulated over the same window against the export). docs/fit.md keeps the table.
#
#   bash scripts/fit-library.sh                 # builds release first
#   FIREDRILL=target/debug/firedrill bash scripts/fit-library.sh
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${FIREDRILL:-}" ]; then
  cargo build --release --quiet
  FIREDRILL="${CARGO_TARGET_DIR:-target}/release/firedrill"
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "| Drill | Stages | Traffic RMS | Quantities beyond 10 % | Worst quantity (observed → simulated) |"
echo "|---|---|---|---|---|"
for drill in drills/*.ron; do
  name="$(basename "$drill" .ron)"
  "$FIREDRILL" export "$drill" --format openmetrics -o "$work/$name.om"
  if ! "$FIREDRILL" fit --openmetrics "$work/$name.om" --json >"$work/$name.json" 2>"$work/$name.err"; then
    echo "| $name | — | — | — | fit refused: $(head -1 "$work/$name.err") |"
    continue
  fi
  python3 - "$name" "$work/$name.json" <<'PY'
import json, sys
name, path = sys.argv[1], sys.argv[2]
v = json.load(open(path))
t = v["fitted"]["traffic"]
rows = v["goodness"]["rows"]
worst = max(rows, key=lambda r: r["error"])
marked = sum(1 for r in rows if r["marked"])
print(f"| {name} | {len(t['stages'])} | {t['rms']*100:.1f} % | {marked} of {len(rows)} | "
      f"{worst['quantity']}: {worst['observed']:.4g} → {worst['simulated']:.4g} ({worst['error']*100:.0f} %) |")
PY
done
