#!/usr/bin/env bash
# benches/build_scale.sh - the whole-site build at 1x, 4x and 16x the corpus, in one run: wall
# time (median of hyperfine runs), time per rule, CPU time (user + sys) and peak RSS of each, so
# that the speed target (1x) and the flatness of time and memory per rule (4x, 16x) are read
# off one table. The scaled corpora are copies of the corpus under other folder names, ids
# made unique (benches/compare/scale.py, the same copies as benches/compare.sh).
#
# Usage: benches/build_scale.sh [--no-build]
#   --no-build   use the existing target/release/sigwiki
#
# Environment:
#   SIGWIKI_SHARED   the shared folder (default: <repo>/../shared); the corpus is
#                    $SIGWIKI_SHARED/corpus/sigmahq unless CORPUS is set
#   SCALE_FACTORS    corpus sizes (default "1 4 16")
#   RUNS             timed runs at 1x (default 10; 4x gets half, 16x a quarter, at least 2)
#   SIGWIKI_BENCH_OUT  where the sites are built (default: /dev/shm when it has room, so that
#                    the figures measure sigwiki rather than the disk)
#
# Every build is `sigwiki build CORPUS --targets all -q -o SITE`, timed as a user runs it again
# and again: into the site of the previous run, which the build swaps out and deletes within
# the timed run. Needs hyperfine and GNU time (apt-get install hyperfine time) and python3.
set -euo pipefail

build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0 ;;
    -h | --help) sed -n '2,22p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
shared=${SIGWIKI_SHARED:-$repo/../shared}
corpus=${CORPUS:-$shared/corpus/sigmahq}
factors=${SCALE_FACTORS:-1 4 16}
runs=${RUNS:-10}
[ -d "$corpus" ] || { echo "no corpus at $corpus (set SIGWIKI_SHARED or CORPUS)" >&2; exit 1; }
for tool in hyperfine /usr/bin/time python3; do
  command -v "$tool" >/dev/null || { echo "$tool is missing" >&2; exit 1; }
done
if [ "$build" = 1 ]; then
  cargo build --release --quiet
fi
sw=$repo/target/release/sigwiki

work=$(mktemp -d "${TMPDIR:-/tmp}/sigwiki-scale.XXXXXX")
if [ -n "${SIGWIKI_BENCH_OUT:-}" ]; then
  sites=$(mktemp -d "$SIGWIKI_BENCH_OUT/sigwiki-sites.XXXXXX")
elif [ -w /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR == 2 {print $4}')" -gt $((6 * 1024 * 1024)) ]; then
  sites=$(mktemp -d /dev/shm/sigwiki-sites.XXXXXX)
else
  sites=$work
fi
trap 'rm -rf "$work" "$sites"' EXIT

largest=0
for f in $factors; do [ "$f" -gt "$largest" ] && largest=$f; done
python3 "$repo/benches/compare/scale.py" "$corpus" "$work/copies" "$largest" >/dev/null
for f in $factors; do
  mkdir -p "$work/x$f"
  for i in $(seq 0 $((f - 1))); do
    cp -al "$work/copies/copy-$(printf %02d "$i")" "$work/x$f/"
  done
done

echo "sigwiki build --targets all: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
printf '%-6s %8s %10s %12s %10s %10s %12s\n' factor rules "wall (ms)" "per rule µs" "cpu (ms)" "peak MiB" "peak vs 1x"
base_rss=
for f in $factors; do
  n=$(find "$work/x$f" -type f \( -name '*.yml' -o -name '*.yaml' \) | wc -l)
  site=$sites/site-x$f
  cmd="$sw build $work/x$f --targets all -q -o $site"
  # One run first: the warm-up of the file cache, and the peak RSS and CPU time.
  /usr/bin/time -f '%M %U %S' -o "$work/time-x$f" $cmd >/dev/null 2>"$work/err-x$f" || true
  read -r rss user sys <"$work/time-x$f"
  r=$((runs / f > 2 ? runs / f : 2))
  [ "$f" = 1 ] && r=$runs
  hyperfine --style none --runs "$r" --warmup 0 --export-json "$work/x$f.json" "$cmd" >/dev/null
  median=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["median"])' "$work/x$f.json")
  rss_mib=$(python3 -c "print(f'{$rss / 1024:.0f}')")
  [ -z "$base_rss" ] && base_rss=$rss
  python3 - "$f" "$n" "$median" "$user" "$sys" "$rss_mib" "$rss" "$base_rss" <<'PY'
import sys
f, n, median, user, sys_, rss_mib, rss, base = sys.argv[1:]
n, median = int(n), float(median)
print(f"{f + 'x':<6} {n:>8} {median * 1000:>10.0f} {median * 1e6 / n:>12.0f} "
      f"{(float(user) + float(sys_)) * 1000:>10.0f} {rss_mib:>10} {int(rss) / int(base):>11.2f}x")
PY
  rm -rf "$site"
done
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
