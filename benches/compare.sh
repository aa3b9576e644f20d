#!/usr/bin/env bash
# Measures the engine against its two yardsticks in one invocation and prints a table:
#   firedrill        the real engine on the 1M-customer M/M/20 model (criterion, mmc_1m group)
#   plain_rust_heap  a hand-written BinaryHeap + VecDeque M/M/c loop, same RNG (same group)
#   simpy            the same model in SimPy (benches/simpy_mmc.py)
# Targets (DESIGN.md, "Performance targets"): engine within 2x of the plain loop, >= 50x SimPy.
#
# Usage: bash benches/compare.sh [--simpy-customers N] [--day]
#   --simpy-customers N  run SimPy on N customers instead of 1M (figures scaled per customer)
#   --day                also time the 24-hour drill at 100 rps (criterion group day_at_100rps)
#                        and measure its peak memory with /usr/bin/time -v
# Needs no network: simpy must already be installed (pip install simpy).
set -euo pipefail

cd "$(dirname "$0")/.."

simpy_customers=1000000
day=0
while [[ $# -gt 0 ]]; do
    case "$1" in
    --simpy-customers)
        simpy_customers="$2"
        shift 2
        ;;
    --day)
        day=1
        shift
        ;;
    -h | --help)
        sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
        exit 0
        ;;
    *)
        echo "unknown argument: $1 (try --help)" >&2
        exit 2
        ;;
    esac
done

if ! python3 -c 'import simpy' 2>/dev/null; then
    echo "SimPy is not importable by python3. Install it with:" >&2
    echo "    pip install simpy" >&2
    exit 3
fi

target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
log=$(mktemp -t firedrill-compare.XXXXXX)
trap 'rm -f "$log"' EXIT
# A baseline name of our own, so another `cargo bench` cannot overwrite what we read.
baseline="compare-$$"

echo "== building (release)" >&2
cargo build --release --quiet
cargo bench --bench engine --no-run --quiet

echo "== criterion: mmc_1m (firedrill, plain_rust_heap)" >&2
filter='^mmc_1m/'
[[ $day == 1 ]] && filter='^(mmc_1m|day_at_100rps)/'
cargo bench --quiet --bench engine -- --save-baseline "$baseline" "$filter" | tee "$log" >&2

echo "== SimPy: $simpy_customers customers" >&2
python3 benches/simpy_mmc.py --customers "$simpy_customers" | tee -a "$log" >&2

if [[ $day == 1 ]]; then
    echo "== peak memory: firedrill simulate benches/day-at-100rps.ron" >&2
    if [[ -x /usr/bin/time ]]; then
        /usr/bin/time -v "$target_dir/release/firedrill" simulate benches/day-at-100rps.ron \
            2>&1 >/dev/null | grep -E 'Maximum resident|Elapsed' | sed 's/^\s*/day-rss: /' |
            tee -a "$log" >&2
    else
        echo "/usr/bin/time is missing: peak memory not measured" >&2
    fi
fi

echo "source: $(git describe --always --dirty 2>/dev/null || echo unknown), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$log" "$target_dir/criterion" "$baseline" "$day" <<'PY'
import json
import os
import re
import sys

log_path, criterion_dir, baseline, day = sys.argv[1:5]
text = open(log_path).read()


def stats(prefix, name=None):
    for line in text.splitlines():
        if line.startswith(prefix) and (name is None or f"contender={name} " in line):
            return dict(kv.split("=", 1) for kv in line.split()[1:])
    sys.exit(f"compare.sh: no `{prefix}` line for {name or 'simpy'} in the output")


def median_seconds(group, bench):
    path = os.path.join(criterion_dir, group, bench, baseline, "estimates.json")
    with open(path) as f:
        return json.load(f)["median"]["point_estimate"] / 1e9


rows = []
for name in ("firedrill", "plain_rust_heap"):
    s = stats("bench-stats:", name)
    wall = median_seconds("mmc_1m", name)
    customers, events = int(s["customers"]), int(s["events"])
    rows.append((name, wall, customers, events, float(s["mean_wait"])))
s = stats("simpy-stats:")
rows.append(("simpy", float(s["wall"]), int(s["customers"]), int(s["events"]), float(s["mean_wait"])))

per = {name: wall * 1e9 / customers for name, wall, customers, _, _ in rows}
print()
print("M/M/20, lambda=90/s, mean service 200 ms; wall = criterion median per run (SimPy: one run)")
print(f"{'contender':<16} {'customers':>10} {'events':>10} {'wall/run s':>10} {'s per 1M cust':>13} "
      f"{'ns/customer':>11} {'ns/event':>9} {'mean wait s':>11}")
for name, wall, customers, events, wait in rows:
    print(f"{name:<16} {customers:>10} {events:>10} {wall:>10.3f} {per[name] * 1e6 / 1e9:>13.3f} "
          f"{per[name]:>11.0f} {wall * 1e9 / events:>9.0f} {wait:>11.5f}")
if s.get("scaled") == "yes":
    print("(SimPy ran fewer than 1M customers; its per-1M figure is scaled per customer)")
print("(SimPy events are approximated as 2 per customer)")
engine_plain = per["firedrill"] / per["plain_rust_heap"]
simpy_engine = per["simpy"] / per["firedrill"]
print()
print(f"engine / plain_rust_heap : {engine_plain:5.2f}x  (target <= 2x: {'met' if engine_plain <= 2 else 'NOT met'})")
print(f"simpy / engine           : {simpy_engine:5.1f}x  (target >= 50x: {'met' if simpy_engine >= 50 else 'NOT met'})")
pr = stats("bench-stats:", "paired")
print(f"paired, interleaved    : {float(pr['engine_plain_median']):5.2f}x  (engine / plain, median of "
      f"{pr['pairs']} alternating pairs; range {float(pr['min']):.2f}-{float(pr['max']):.2f})")
print(f"fastest of each        : {float(pr['fastest_ratio']):5.2f}x  (engine {float(pr['fastest_engine_ms']):.1f} ms / "
      f"plain {float(pr['fastest_plain_ms']):.1f} ms, the least disturbed of the same pairs)")
print(f"RESULT paired={float(pr['engine_plain_median']):.3f} fastest={float(pr['fastest_ratio']):.3f} "
      f"engine_plain={engine_plain:.3f} simpy_engine={simpy_engine:.2f} "
      + " ".join(f"{n}_ns_per_customer={per[n]:.1f}" for n in per))

if day == "1":
    d = stats("bench-stats:", "firedrill_24h")
    wall = median_seconds("day_at_100rps", "firedrill_24h")
    rss = re.search(r"day-rss: Maximum resident set size \(kbytes\): (\d+)", text)
    memory = f"peak RSS {int(rss.group(1)) / 1024:.1f} MiB" if rss else "peak RSS not measured"
    print()
    print(f"24-hour drill at 100 rps: {int(d['customers'])} requests, {int(d['events'])} events, "
          f"{wall:.2f} s median wall ({wall * 1e9 / int(d['events']):.0f} ns/event), {memory}")
PY
