#!/usr/bin/env bash
# Wall time of `sigwiki convert -t TARGET <corpus>` (the whole process: reading, parsing and
# converting every rule), best of N runs, for the given targets (default: the legacy family).
# The target is under 0.2 s per target on the reference machine (2 cores, release build).
#
# Usage: benches/convert-corpus.sh [TARGET...]   (env: RUNS=5, CORPUS=../shared/corpus/sigmahq)
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${CORPUS:-${SIGWIKI_SHARED:-../shared}/corpus/sigmahq}
RUNS=${RUNS:-5}
TARGETS=${*:-es-qs xpack-watcher graylog}
[ -d "$CORPUS" ] || { echo "skipped: no corpus at $CORPUS"; exit 0; }
cargo build --release --quiet
for target in $TARGETS; do
  best=
  for _ in $(seq "$RUNS"); do
    start=$(date +%s%N)
    ./target/release/sigwiki convert -t "$target" "$CORPUS" >/dev/null 2>&1 || true
    ms=$(( ($(date +%s%N) - start) / 1000000 ))
    if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
  done
  echo "$target: best of $RUNS runs ${best} ms wall"
done
