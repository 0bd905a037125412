#!/usr/bin/env bash
# Makes the real inputs of the recorded-output test (crates/cli/tests/recorded.rs):
# three snapshots of one process with churn between them, a sampling heap profile, and a
# hunt's run folder without its snapshots. Run from anywhere; writes beside this script.
# The snapshots are committed gzipped, so the recording stays comparable: a fresh run of
# this script writes different ids and counts, and then the recording must be made anew
# (HEAPHOUND_RECORD=1 cargo test -p heaphound-cli --test recorded) and looked over.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$here/../.."
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

node "$root/tests/fixtures/diff/series.js" "$tmp"
mkdir -p "$here/series"
for k in 1 2 3; do gzip -9 -n -c "$tmp/$k.heapsnapshot" > "$here/series/$k.heapsnapshot.gz"; done

cat > "$tmp/hog.js" <<'JS'
'use strict';
const kept = [];
function hog(n) {
  for (let i = 0; i < n; i++) kept.push({ i, a: [i, i + 1, i + 2], s: { t: i } });
}
function small(n) {
  for (let i = 0; i < n; i++) kept.push('s' + i);
}
setTimeout(() => { hog(30000); small(5000); process.exit(0); }, 1);
JS
node --heap-prof --heap-prof-interval=4096 --heap-prof-dir="$tmp" \
  --heap-prof-name=hog.heapprofile "$tmp/hog.js"
cp "$tmp/hog.heapprofile" "$here/hog.heapprofile"

# A hunt's run folder as heaphound wrote it before the documents were typed: `report`
# must keep reading such folders. The snapshots are left out (report.json holds what the
# page shows).
cargo run -q --manifest-path "$root/Cargo.toml" -- hunt -q --json --out "$tmp/run" \
  --load '/items?user=7' -n 300 -- node "$root/examples/cache-leak/server.js" 0 > /dev/null || true
mkdir -p "$here/run"
cp "$tmp/run/report.json" "$tmp/run/memory.jsonl" "$tmp/run/load.json" "$here/run/"
