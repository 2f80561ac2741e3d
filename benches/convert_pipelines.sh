#!/usr/bin/env bash
# benches/convert_pipelines.sh - whole-process wall time of `sigwiki convert` over the SigmaHQ
# corpus (3,780 rules) through processing pipelines, release build, against the 0.25 s budget of
# the pipeline issue (the same as converting without a pipeline). Each case is timed beside the
# same target without a pipeline, so the pipelines' own cost shows.
#
# Usage: benches/convert_pipelines.sh [--no-build] [RUNS]
#   --no-build  use the existing target/release/sigwiki
#   RUNS        timed runs per case after 3 warm-up runs (default 20)
# Environment: SIGWIKI_SHARED (default: <repo>/../shared), BUDGET_SECONDS (default 0.25).
#
# Uses hyperfine when installed, else a loop timed by bash's own `time`. Prints, per case, the mean and
# the fastest and slowest run; exits 1 when a pipeline case's mean is over the budget.
set -euo pipefail
cd "$(dirname "$0")/.."
build=1
if [ "${1:-}" = "--no-build" ]; then build=0; shift; fi
runs=${1:-20}
shared=${SIGWIKI_SHARED:-$(pwd)/../shared}
corpus="$shared/corpus/sigmahq"
budget=${BUDGET_SECONDS:-0.25}
if [ ! -d "$corpus" ]; then echo "skipped: $corpus is absent"; exit 0; fi
if [ "$build" = 1 ]; then cargo build --release --quiet; fi
bin=target/release/sigwiki
echo "cores: $(nproc)  runs: $runs  budget: ${budget}s  corpus: $corpus"

# name|arguments (a case without -p is the baseline of the next ones)
cases=(
  "lucene|-t lucene"
  "lucene+ecs_windows|-t lucene -p ecs_windows"
  "eql+ecs_windows|-t eql -p ecs_windows"
  "esql+ecs_windows|-t esql -p ecs_windows"
  "lucene+sysmon|-t lucene -p sysmon"
  "splunk|-t splunk"
  "splunk+sysmon|-t splunk -p sysmon"
  "splunk+splunk_windows|-t splunk -p splunk_windows"
  "splunk+sysmon+splunk_windows|-t splunk -p sysmon -p splunk_windows"
  "kusto|-t kusto"
  "kusto+microsoft_xdr|-t kusto -p microsoft_xdr"
  "kusto+sentinel_asim|-t kusto -p sentinel_asim"
  "kusto+azure_monitor|-t kusto -p azure_monitor"
)

# mean, fastest and slowest wall seconds of `$bin convert ARGS corpus`.
measure() {
  local args=$1
  if command -v hyperfine >/dev/null; then
    local json
    json=$(mktemp)
    # convert exits 1 when some rules are refused, which is expected here.
    hyperfine --warmup 3 --runs "$runs" -i --export-json "$json" --style none \
      "$bin convert $args $corpus" >/dev/null 2>&1
    python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print(r["mean"], r["min"], r["max"])' "$json"
    rm -f "$json"
  else
    for _ in 1 2 3; do $bin convert $args "$corpus" >/dev/null 2>&1 || true; done
    # bash's `time` keyword needs nothing installed; TIMEFORMAT=%R prints the wall seconds alone.
    local TIMEFORMAT=%R
    for _ in $(seq "$runs"); do
      { time $bin convert $args "$corpus" >/dev/null 2>/dev/null || true; } 2>&1 | tail -n 1
    done | awk 'NR==1{n=$1} {s+=$1; if($1>m)m=$1; if($1<n)n=$1} END {printf "%.4f %.4f %.4f\n", s/NR, n, m}'
  fi
}

over=0
for case in "${cases[@]}"; do
  name=${case%%|*}
  args=${case#*|}
  converted=$($bin convert $args "$corpus" 2>/dev/null | grep -c . || true)
  read -r mean min max < <(measure "$args")
  # A case without a measurement is a broken bench, not a pass.
  if ! awk -v m="${mean:-}" 'BEGIN {exit !(m + 0 > 0)}'; then
    echo "$name: no time measured (got '${mean:-}')" >&2
    exit 2
  fi
  verdict=""
  if [[ $args == *" -p "* ]]; then
    if awk -v m="$mean" -v b="$budget" 'BEGIN {exit !(m > b)}'; then verdict="  OVER"; over=1; else verdict="  ok"; fi
  fi
  printf '%-30s wall mean %.3f s (fastest %.3f s, slowest %.3f s), %s output lines%s\n' \
    "$name" "$mean" "$min" "$max" "$converted" "$verdict"
done
# Wall time on a shared machine depends on what else runs; the load average tells how busy it was.
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ "$over" = 1 ]; then echo "FAIL: a pipeline case's mean is over the ${budget}s budget"; exit 1; fi
echo "PASS: every pipeline case's mean is under the ${budget}s budget"
