#!/usr/bin/env bash
# Evaluation speed: events per second of `sigwiki test --events` for the whole SigmaHQ corpus rule
# set (rules, rules-emerging-threats, rules-threat-hunting) on the shared regression events,
# flattened to JSON Lines and repeated REPEAT times, on 1 and 2 threads; beside
# `rsigma engine eval` 0.23 (from crates.io, cached as benches/compare.sh caches it) on the same
# events. Startup (loading and compiling the rules) is measured on an empty events file and
# subtracted. The ratio per core compares CPU time (user + sys), which load on a shared machine
# changes less than wall time; each command runs RUNS times (default 3) and its least wall and
# least CPU time are taken, as load only ever adds to them. Needs ../shared (or SIGWIKI_SHARED), python3, bc, /usr/bin/time
# and a release build.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
SHARED=${SIGWIKI_SHARED:-$PWD/../shared}
REPEAT=${REPEAT:-500}
RUNS=${RUNS:-3}
cache=${SIGWIKI_BENCH_CACHE:-$HOME/.cache/sigwiki-bench}
rsigma=$cache/rsigma/bin/rsigma
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cargo build --release --quiet
sigwiki=$PWD/target/release/sigwiki
if ! "$rsigma" --version 2>/dev/null | grep -q '0\.23\.0'; then
  CARGO_TARGET_DIR=$cache/rsigma-target cargo install rsigma --version 0.23.0 --locked \
    --no-default-features --features rsigma-runtime --root "$cache/rsigma" >"$cache/rsigma-install.log" 2>&1
fi
python3 - "$SHARED/regression/regression_data" "$work/one.jsonl" <<'PY'
import glob, json, sys
out = []
for path in sorted(glob.glob(sys.argv[1] + "/**/*.json", recursive=True)):
    text, decoder, at = open(path).read(), json.JSONDecoder(), 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at >= len(text):
            break
        record, at = decoder.raw_decode(text, at)
        event, flat = record["Event"], {}
        system = event.get("System", {})
        for key in ["EventID", "Channel", "Computer", "Level", "Task", "Opcode", "Keywords", "EventRecordID", "Version"]:
            value = system.get(key)
            value = value.get("#text") if isinstance(value, dict) else value
            if value is not None:
                flat[key] = value
        name = system.get("Provider", {}).get("#attributes", {}).get("Name")
        if name:
            flat["Provider_Name"] = name
        for key, value in (event.get("EventData") or {}).items():
            if key != "#attributes":
                flat[key] = value
        out.append(json.dumps(flat))
open(sys.argv[2], "w").write("\n".join(out) + "\n")
PY
for _ in $(seq "$REPEAT"); do cat "$work/one.jsonl"; done >"$work/events.jsonl"
: >"$work/empty.jsonl"
events=$(wc -l <"$work/events.jsonl")
mkdir "$work/rules"
# Copied, not linked: a walk does not follow a link that leaves the folder it walks, and a
# rule set of nothing is fast to evaluate.
for d in rules rules-emerging-threats rules-threat-hunting; do cp -r "$SHARED/corpus/sigmahq/$d" "$work/rules/$d"; done
matched=$("$sigwiki" test "$work/rules" --events "$work/one.jsonl" --format jsonl | grep -c '"matched"' || true)
if [ "$matched" -eq 0 ]; then
  echo "eval.sh: no rule matched the events; were the rules read?" >&2
  exit 1
fi
# Wall seconds and CPU seconds (user + sys) of a command, its output dropped. CPU time is what
# the ratio per core is taken from: the machine may be shared, and wall time then counts the
# waits for a core as well.
measure() {
  : >"$work/times"
  for _ in $(seq "$RUNS"); do
    /usr/bin/time -o "$work/time" -f '%e %U %S' "$@" >/dev/null 2>&1 || true
    cat "$work/time" >>"$work/times"
  done
  # Only the lines of figures (time adds a line when a command exits non-zero).
  awk '$1 ~ /^[0-9.]+$/ { n++; if (n == 1 || $1 < wall) wall = $1; if (n == 1 || $2 + $3 < cpu) cpu = $2 + $3 }
       END { printf "%s %.2f\n", wall, cpu }' "$work/times"
}
rate() { echo "scale=0; $events / ($1 - $2)" | bc; }
read -r wall_base1 cpu_base1 < <(measure "$sigwiki" -j 1 test "$work/rules" --events "$work/empty.jsonl")
read -r wall_run1 cpu_run1 < <(measure "$sigwiki" -j 1 test "$work/rules" --events "$work/events.jsonl")
read -r wall_run2 cpu_run2 < <(measure "$sigwiki" -j 2 test "$work/rules" --events "$work/events.jsonl")
read -r wall_rbase cpu_rbase < <(measure sh -c "'$rsigma' engine eval -r '$work/rules' --no-stats -q < '$work/empty.jsonl'")
read -r wall_rrun cpu_rrun < <(measure sh -c "'$rsigma' engine eval -r '$work/rules' --no-stats -q < '$work/events.jsonl'")
sigwiki_cpu=$(rate "$cpu_run1" "$cpu_base1")
rsigma_cpu=$(rate "$cpu_rrun" "$cpu_rbase")
echo "events: $events ($matched rules match some event), least of $RUNS runs; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "sigwiki 1 thread: $(rate "$wall_run1" "$wall_base1") events/s wall, $sigwiki_cpu events/s of CPU (startup ${wall_base1} s, total ${wall_run1} s)"
echo "sigwiki 2 threads: $(rate "$wall_run2" "$wall_base1") events/s wall (total ${wall_run2} s, CPU ${cpu_run2} s)"
echo "rsigma 0.23 engine eval: $(rate "$wall_rrun" "$wall_rbase") events/s wall, $rsigma_cpu events/s of CPU (startup ${wall_rbase} s, total ${wall_rrun} s)"
echo "per core (CPU time, 1 thread each): sigwiki / rsigma = $(echo "scale=2; $sigwiki_cpu / $rsigma_cpu" | bc) (target: 5)"
