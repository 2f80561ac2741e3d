#!/usr/bin/env bash
# Benchmark of a whole-corpus build: every rule of the SigmaHQ corpus, all query targets,
# Markdown and HTML pages, indexes and exports. Reports wall time and peak memory.
#
#   benches/build.sh [CORPUS] [RUNS]
#
# CORPUS defaults to $SIGWIKI_SHARED/corpus/sigmahq or ../shared/corpus/sigmahq.
# Uses hyperfine when installed, and GNU time (/usr/bin/time) for peak RSS.
set -euo pipefail
cd "$(dirname "$0")/.."
shared="${SIGWIKI_SHARED:-../shared}"
corpus="${1:-$shared/corpus/sigmahq}"
runs="${2:-5}"
if [ ! -d "$corpus" ]; then
  echo "skipped: no corpus at $corpus" >&2
  exit 0
fi
cargo build --release --quiet
bin="$PWD/target/release/sigwiki"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cmd="$bin build $corpus --targets all -q -o $out/site"
echo "rules: $(find "$corpus" -name '*.yml' | wc -l), cores: $(nproc)"
if command -v hyperfine >/dev/null; then
  hyperfine --warmup 1 --runs "$runs" "$cmd"
else
  $cmd >/dev/null 2>&1 || true
  for i in $(seq "$runs"); do
    start=$(date +%s.%N)
    $cmd >/dev/null 2>&1 || true
    end=$(date +%s.%N)
    echo "run $i: $(echo "$end - $start" | bc) s"
  done
fi
if [ -x /usr/bin/time ]; then
  /usr/bin/time -v $cmd 2>&1 >/dev/null | grep -E "Elapsed|Maximum resident" || true
fi
echo "files: $(find "$out/site" -type f | wc -l), size: $(du -sh "$out/site" | cut -f1)"
