#!/usr/bin/env bash
# benches/check.sh - whole-process wall time of `sigwiki check` over the SigmaHQ corpus
# (3,780 rules), release build, compared with the 0.5 s budget of the foundation issue.
#
# Usage: benches/check.sh [--no-build] [RUNS]
#   --no-build  use the existing target/release/sigwiki
#   RUNS        timed runs after 3 warm-up runs (default 30)
# Environment: SIGWIKI_SHARED (default: <repo>/../shared), BUDGET_SECONDS (default 0.5).
#
# Uses hyperfine when installed (apt-get install hyperfine), else a loop timed by bash's `time`.
# Prints the mean and the slowest run; exits 1 when the mean is over the budget.
set -euo pipefail
cd "$(dirname "$0")/.."
build=1
if [ "${1:-}" = "--no-build" ]; then build=0; shift; fi
runs=${1:-30}
shared=${SIGWIKI_SHARED:-$(pwd)/../shared}
corpus="$shared/corpus/sigmahq"
budget=${BUDGET_SECONDS:-0.5}
if [ ! -d "$corpus" ]; then echo "skipped: $corpus is absent"; exit 0; fi
if [ "$build" = 1 ]; then cargo build --release --quiet; fi
bin=target/release/sigwiki
"$bin" check "$corpus" | tail -n 1
echo "cores: $(nproc)  runs: $runs  budget: ${budget}s"

if command -v hyperfine >/dev/null; then
  json=$(mktemp)
  hyperfine --warmup 3 --runs "$runs" --export-json "$json" --style basic \
    "$bin check $corpus" >/dev/null
  read -r mean max min cpu < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"][0]; print(r["mean"], r["max"], r["min"], r["user"] + r["system"])' "$json")
  rm -f "$json"
else
  for _ in 1 2 3; do "$bin" check "$corpus" >/dev/null; done
  read -r mean max min cpu < <(
    # bash's `time` keyword needs nothing installed: wall, user and system seconds.
    TIMEFORMAT='%R %U %S'
    for _ in $(seq "$runs"); do
      { time "$bin" check "$corpus" >/dev/null; } 2>&1 | tail -n 1
    done | awk 'NR==1{n=$1} {s+=$1; c+=$2+$3; if($1>m)m=$1; if($1<n)n=$1}
                END {printf "%.4f %.4f %.4f %.4f\n", s/NR, m, n, c/NR}')
fi
if ! awk -v m="${mean:-}" 'BEGIN {exit !(m + 0 > 0)}'; then
  echo "no time measured (got '${mean:-}')" >&2; exit 2
fi
printf 'sigwiki check (corpus): wall mean %.3f s (fastest %.3f s, slowest %.3f s); CPU user+sys %.3f s\n' "$mean" "$min" "$max" "$cpu"
# Wall time on a shared machine depends on what else runs; the load average tells how busy it was.
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
if awk -v m="$mean" -v b="$budget" 'BEGIN {exit !(m > b)}'; then
  echo "FAIL: mean over the ${budget}s budget"; exit 1
fi
echo "PASS: mean under the ${budget}s budget"
