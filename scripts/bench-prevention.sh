#!/usr/bin/env bash
# Wall time of the prevention commands on this machine (docs/performance.md, "After the
# incident"): whatif --runs 200 on monday-rush with two change files, from the drill and from
# a transcript, and a capacity search with a change. Build with `cargo build --release` first.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/firedrill
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
$bin play drills/monday-rush.ron --reference --quiet --no-record --transcript "$tmp/monday.jsonl" >/dev/null
changes="drills/changes/monday-pool-40.ron drills/changes/monday-page-on-saturation.ron"
measure() {
    local label=$1; shift
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null
    end=$(date +%s.%N)
    printf '%-60s %8.1f s\n' "$label" "$(echo "$end - $start" | bc)"
}
echo "cores: $(nproc); load: $(cut -d' ' -f1-3 /proc/loadavg)"
measure "whatif monday-rush, 2 changes, --runs 200 (drill)" $bin whatif drills/monday-rush.ron $changes --runs 200 --json
measure "whatif monday-rush, 2 changes, --runs 200 (transcript)" $bin whatif "$tmp/monday.jsonl" $changes --runs 200 --json
measure "capacity mmc-reference, 1 change, --runs 20" $bin capacity drills/reference/mmc.ron drills/changes/mmc-pool-30.ron --slo 'pool_waiting:db < 5' --runs 20 --json
measure "capacity monday-rush, 1 change, --runs 20" $bin capacity drills/monday-rush.ron drills/changes/monday-pool-40.ron --slo 'degraded_ratio < 0.01' --slo 'latency_p99 < 8s' --runs 20 --json
