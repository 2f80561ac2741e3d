#!/usr/bin/env bash
# benches/compare.sh - sigwiki against the tools users choose between, on the same rules, on the
# same machine, in one run: sigma-cli (pySigma), legacy sigmac (sigmatools) and rsigma.
#
# Usage: benches/compare.sh [--quick] [--no-build] [--output FILE]
#   --quick      fewer runs (for trying the script; figures are rough)
#   --no-build   use the existing target/release/sigwiki
#   --output F   where to write the report (default: BENCHMARKS.md at the repository root)
#
# Environment:
#   SIGWIKI_SHARED       the shared folder (default: <repo>/../shared); the corpus is
#                        $SIGWIKI_SHARED/corpus/sigmahq unless CORPUS is set
#   SIGWIKI_BENCH_CACHE  where the peers are installed (default: ~/.cache/sigwiki-bench):
#                          venv-sigma-cli/  sigma-cli 3.1.0 + Elasticsearch and Splunk backends
#                          venv-sigmac/     sigmatools 0.23.1 (legacy sigmac)
#                          rsigma/bin/rsigma  rsigma 0.23.0 (cargo install --root), built in
#                          rsigma-target/   (about 20 minutes on 2 cores the first time)
#                          pysigma-home/    HOME of the pySigma commands (its ATT&CK cache)
#   RUNS_FAST, RUNS_SLOW timed runs per command for sigwiki and rsigma / for the Python tools
#                        (default 10 / 3; --quick: 3 / 1)
#   SCALE_FACTORS        corpus sizes of the scaling runs (default "1 4 16")
#   SIGWIKI_BENCH_OUT    where the built sites go (default: /dev/shm when it has 6 GiB free,
#                        else $TMPDIR); the 16x site is about 2.6 GB
#
# Installs what is missing the way a user would: hyperfine and GNU time from Debian (apt-get),
# the Python tools from PyPI into virtualenvs, rsigma from crates.io with cargo install. Then,
# with hyperfine (median of the runs; one more run under /usr/bin/time -v for the peak RSS and
# the output that is counted), times on the whole corpus:
#   validation   sigwiki check | sigma check | rsigma rule lint
#   Lucene       sigwiki convert -t lucene | sigma convert -t lucene | sigmac -t es-qs
#   Splunk       sigwiki convert -t splunk | sigma convert -t splunk | sigmac -t splunk
#   native       rsigma backend convert -t postgres (rsigma has no Lucene or Splunk backend)
#   build        sigwiki build (every target, every page)
#   pipelines    sigwiki convert through each built-in pipeline (benches/convert_pipelines.sh)
#   serve        the edit-to-visible latency of sigwiki serve (benches/serve_latency.py)
#   evaluation   sigwiki test --events beside rsigma engine eval (benches/eval.sh; REPEAT)
# and the scaling of sigwiki build: 1x, 4x and 16x the corpus (copies under other folder names,
# ids made unique), and 1 against 2 threads (RAYON_NUM_THREADS). Writes a Markdown report with
# the machine and every tool's version, and the raw hyperfine JSON under target/bench-compare/.
set -euo pipefail

quick=0 build=1 report=
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --no-build) build=0 ;;
    --output) report=${2:?--output needs a file}; shift ;;
    -h | --help) sed -n '2,36p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
shared=${SIGWIKI_SHARED:-$repo/../shared}
corpus=${CORPUS:-$shared/corpus/sigmahq}
cache=${SIGWIKI_BENCH_CACHE:-$HOME/.cache/sigwiki-bench}
report=${report:-$repo/BENCHMARKS.md}
if [ "$quick" = 1 ]; then
  runs_fast=${RUNS_FAST:-3} runs_slow=${RUNS_SLOW:-1}
else
  runs_fast=${RUNS_FAST:-10} runs_slow=${RUNS_SLOW:-3}
fi
scale_factors=${SCALE_FACTORS:-1 4 16}
case " $scale_factors " in *" 1 "*) ;; *) echo "SCALE_FACTORS must include 1" >&2; exit 2 ;; esac
helpers=$repo/benches/compare

log() { printf '\n== %s\n' "$*" >&2; }
die() { echo "compare.sh: $*" >&2; exit 1; }

[ -d "$corpus" ] || die "no corpus at $corpus (set SIGWIKI_SHARED or CORPUS)"
corpus=$(cd "$corpus" && pwd)

# --- tools -----------------------------------------------------------------------------------

apt_updated=0
need_debian() { # need_debian COMMAND PACKAGE
  command -v "$1" >/dev/null 2>&1 && return 0
  [ "$(id -u)" = 0 ] || die "$1 is missing: apt-get install $2"
  if [ "$apt_updated" = 0 ]; then apt-get update -qq; apt_updated=1; fi
  log "installing $2 from Debian"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}
need_debian hyperfine hyperfine
need_debian /usr/bin/time time
need_debian python3 python3
if ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
  [ "$(id -u)" = 0 ] || die "python3 cannot make virtualenvs: apt-get install python3-venv"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
fi
command -v cargo >/dev/null || die "cargo is missing (rustup.rs)"

mkdir -p "$cache"

# venv DIR PACKAGE==VERSION... : a virtualenv with exactly these pins, made once.
venv() {
  local dir=$1; shift
  local want="$*"
  if [ "$(cat "$dir/.sigwiki-pins" 2>/dev/null)" != "$want" ]; then
    log "installing $want from PyPI into $dir"
    rm -rf "$dir"
    python3 -m venv "$dir"
    "$dir/bin/python" -m pip install -q --disable-pip-version-check "$@"
    echo "$want" >"$dir/.sigwiki-pins"
  fi
}
venv_cli=$cache/venv-sigma-cli
venv_sigmac=$cache/venv-sigmac
# The pySigma and backend pins are the versions sigma-cli 3.1.0 resolves to, the same as the
# reference conversions in shared/oracle were made with.
venv "$venv_cli" sigma-cli==3.1.0 pysigma==1.5.1 \
  pysigma-backend-elasticsearch==2.1.1 pysigma-backend-splunk==2.1.0
venv "$venv_sigmac" sigmatools==0.23.1

rsigma=$cache/rsigma/bin/rsigma
if ! "$rsigma" --version 2>/dev/null | grep -q '0\.23\.0'; then
  log "installing rsigma 0.23.0 from crates.io (about 20 minutes on 2 cores; log: $cache/rsigma-install.log)"
  CARGO_TARGET_DIR=$cache/rsigma-target cargo install rsigma --version 0.23.0 --locked \
    --no-default-features --features rsigma-runtime --root "$cache/rsigma" \
    >"$cache/rsigma-install.log" 2>&1 || die "rsigma install failed; see $cache/rsigma-install.log"
fi

# pySigma's ATT&CK tag validator downloads enterprise-attack.json from GitHub on first use and
# caches it under ~/.cache/pysigma. A user has that cache after the first run; this script seeds
# it (in its own HOME) from the ATT&CK release in the shared data instead of the network.
pysigma_home=$cache/pysigma-home
attack_bundle=$shared/data/attack/enterprise-attack-v19.1.json.gz
if [ ! -d "$pysigma_home/.cache/pysigma/mitre_attack" ]; then
  [ -f "$attack_bundle" ] || die "no ATT&CK bundle at $attack_bundle to seed pySigma's cache"
  log "seeding pySigma's ATT&CK cache from $attack_bundle"
  mkdir -p "$pysigma_home"
  HOME=$pysigma_home "$venv_cli/bin/python" - "$attack_bundle" <<'PY'
import gzip, shutil, sys, tempfile
from sigma.data import mitre_attack
with tempfile.NamedTemporaryFile(suffix=".json") as plain:
    with gzip.open(sys.argv[1]) as packed:
        shutil.copyfileobj(packed, plain)
    plain.flush()
    mitre_attack.set_url(plain.name)
    print("pySigma ATT&CK cache:", mitre_attack.mitre_attack_version)
PY
fi

if [ "$build" = 1 ]; then
  log "building sigwiki (release)"
  cargo build --release --quiet
fi
sw=$repo/target/release/sigwiki
[ -x "$sw" ] || die "no $sw (run without --no-build)"

# --- inputs ----------------------------------------------------------------------------------

raw=$repo/target/bench-compare
rm -rf "$raw"
mkdir -p "$raw"
work=$(mktemp -d "${TMPDIR:-/tmp}/sigwiki-compare.XXXXXX")
# The sites built go to memory (tmpfs) when there is room, so that the build figures measure
# sigwiki rather than the disk: on a small VM, creating the 12,000 files of a 1x site on ext4
# costs several seconds of kernel time and varies with the neighbours' I/O.
if [ -n "${SIGWIKI_BENCH_OUT:-}" ]; then
  sites=$(mktemp -d "$SIGWIKI_BENCH_OUT/sigwiki-sites.XXXXXX")
elif [ -w /dev/shm ] && [ "$(df -Pk /dev/shm | awk 'NR == 2 {print $4}')" -gt $((6 * 1024 * 1024)) ]; then
  sites=$(mktemp -d /dev/shm/sigwiki-sites.XXXXXX)
else
  sites=$work
fi
trap 'rm -rf "$work" "$sites"' EXIT

rules=$(find "$corpus" -type f \( -name '*.yml' -o -name '*.yaml' \) | wc -l)

# sigmac aborts the whole run on some rules (see compare/sigmac_aborts.py); it gets the corpus
# without them. The list is cached per corpus content.
corpus_key=$(cd "$corpus" && find . -type f -name '*.yml' -print0 | LC_ALL=C sort -z |
  xargs -0 sha256sum | sha256sum | cut -c1-16)
aborts=$cache/sigmac-aborts-$corpus_key.txt
if [ ! -f "$aborts" ]; then
  log "finding the rules that abort sigmac (once per corpus)"
  "$venv_sigmac/bin/python" "$helpers/sigmac_aborts.py" "$corpus" es-qs splunk >"$aborts.tmp"
  mv "$aborts.tmp" "$aborts"
fi
sigmac_corpus=$work/sigmac-corpus
cp -r "$corpus/." "$sigmac_corpus"
# sigmac -r reads every file, not only rules.
find "$sigmac_corpus" -type f ! -name '*.yml' -delete
while IFS= read -r rel; do rm -f "$sigmac_corpus/$rel"; done <"$aborts"
sigmac_rules=$(find "$sigmac_corpus" -type f | wc -l)

largest=0
for factor in $scale_factors; do [ "$factor" -gt "$largest" ] && largest=$factor; done
log "writing $largest copies of the corpus for the scaling runs"
python3 "$helpers/scale.py" "$corpus" "$work/copies" "$largest" >&2
for factor in $scale_factors; do
  mkdir -p "$work/x$factor"
  for i in $(seq 0 $((factor - 1))); do
    cp -al "$work/copies/copy-$(printf %02d "$i")" "$work/x$factor/"
  done
done

# --- measuring -------------------------------------------------------------------------------

manifest=$raw/manifest.tsv
printf 'id\tgroup\ttool\tcommand\trules_in\tconverted\truns\texit\n' >"$manifest"

short() { # the command as the report shows it
  local c=$1
  c=${c//$venv_cli\/bin\//}
  c=${c//$venv_sigmac\/bin\//}
  c=${c//$cache\/rsigma\/bin\//}
  c=${c//env HOME=$pysigma_home /}
  c=${c//$sw/sigwiki}
  c=${c//$sigmac_corpus/\$CORPUS_SIGMAC}
  c=${c//$corpus/\$CORPUS}
  c=${c//$sites\//}
  c=${c//$work\//}
  printf '%s' "$c"
}

# count ID STDOUT STDERR OUTDIR: the rules the command converted (or checked, or built a page for).
count() {
  local id=$1 out=$2 err=$3 site=$4 in=$5
  case "$id" in
    # sigwiki prints each failed rule as one `path: error: …` line on stderr.
    lucene-sigwiki | splunk-sigwiki) echo $((in - $(grep -c ': error: ' "$err" || true))) ;;
    check-sigwiki) sed -n 's/^checked \([0-9]*\) files.*/\1/p' "$out" | tail -n 1 ;;
    check-rsigma) sed -n 's/^Checked \([0-9]*\) file.*/\1/p' "$out" | tail -n 1 ;;
    check-*) echo "" ;; # sigma check prints no count of the rules it checked
    # sigma-cli separates queries by a blank line (a Splunk query can span lines).
    *-sigma-cli) awk 'BEGIN { RS = "" } END { print NR }' "$out" ;;
    # sigmac prints one query per line.
    *-sigmac) grep -c . "$out" || true ;;
    # rsigma prints the queries of its default format one after the other; its ndjson output
    # (one more run, not timed) has one line per query.
    native-rsigma-postgres)
      "$rsigma" --output-format ndjson backend convert -t postgres --skip-unsupported "$corpus" 2>/dev/null |
        grep -c . || true ;;
    build-* | scale-* | threads-*) find "$site/rules" -name '*.html' 2>/dev/null | wc -l ;;
    *) echo "" ;;
  esac
}

# bench ID GROUP TOOL RULES_IN RUNS COMMAND [HYPERFINE OPTIONS...]
bench() {
  local id=$1 group=$2 tool=$3 in=$4 runs=$5 cmd=$6
  shift 6
  local site=$sites/site-$id
  local c=${cmd//@SITE@/$site}
  log "$id: $(short "$c")"
  # One run first: peak RSS, the output that is counted, and a check that the command runs
  # (the tools exit non-zero when some rules fail: sigmac with the code of its last error);
  # it is also the warm-up of the file cache.
  local status=0
  rm -rf "$site"
  /usr/bin/time -v -o "$raw/$id.time" sh -c "$c" >"$raw/$id.stdout" 2>"$raw/$id.stderr" || status=$?
  if [ "$status" -gt 125 ]; then
    tail -n 5 "$raw/$id.stderr" >&2
    die "$id exited with $status (output in $raw/$id.stderr)"
  fi
  local converted
  converted=$(count "$id" "$raw/$id.stdout" "$raw/$id.stderr" "$site" "$in")
  # Builds are timed as a user runs them again and again: into the site of the previous run,
  # which the build swaps out and deletes within the timed run. (Deleting it beforehand in
  # --prepare leaves ext4 here busy freeing 12,000 files while the next build creates as
  # many, and measured the file system instead: 6 s of kernel time per build.)
  local prepare=(--prepare "rm -rf '$site'")
  case $id in build-* | scale-* | threads-*) prepare=() ;; esac
  hyperfine --style basic --ignore-failure --runs "$runs" --warmup 0 \
    "${prepare[@]}" --export-json "$raw/$id.json" --command-name "$id" "$@" "$c" >&2
  rm -rf "$site"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$id" "$group" "$tool" "$(short "$c")" "$in" \
    "$converted" "$runs" "$status" >>"$manifest"
}

log "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

sigma_cli="env HOME=$pysigma_home $venv_cli/bin/sigma"
sigmac="$venv_sigmac/bin/sigmac --shoot-yourself-in-the-foot --defer-abort --ignore-backend-errors -r"

bench check-sigwiki validation sigwiki "$rules" "$runs_fast" "$sw check $corpus"
# The D3FEND validator downloads the D3FEND ontology, which no offline cache provides; the
# corpus has no d3fend tags.
bench check-sigma-cli validation sigma-cli "$rules" "$runs_slow" "$sigma_cli check --exclude d3_fendtag $corpus"
bench check-rsigma validation rsigma "$rules" "$runs_fast" "$rsigma rule lint $corpus"

bench lucene-sigwiki lucene sigwiki "$rules" "$runs_fast" "$sw convert -t lucene $corpus"
bench lucene-sigma-cli lucene sigma-cli "$rules" "$runs_slow" "$sigma_cli convert -t lucene --without-pipeline --skip-unsupported $corpus"
bench lucene-sigmac lucene sigmac "$sigmac_rules" "$runs_slow" "$sigmac -t es-qs $sigmac_corpus"

bench splunk-sigwiki splunk sigwiki "$rules" "$runs_fast" "$sw convert -t splunk $corpus"
bench splunk-sigma-cli splunk sigma-cli "$rules" "$runs_slow" "$sigma_cli convert -t splunk --without-pipeline --skip-unsupported $corpus"
bench splunk-sigmac splunk sigmac "$sigmac_rules" "$runs_slow" "$sigmac -t splunk $sigmac_corpus"

bench native-rsigma-postgres native rsigma "$rules" "$runs_fast" "$rsigma backend convert -t postgres --skip-unsupported $corpus"

bench build-sigwiki build sigwiki "$rules" "$runs_fast" "$sw build $corpus --targets all -q -o @SITE@"

# Scaling: the same build on 1x, 4x and 16x the corpus, and on 1 and 2 threads.
scale_runs=$runs_fast
[ "$scale_runs" -gt 5 ] && scale_runs=5
for factor in $scale_factors; do
  runs=$scale_runs
  [ "$factor" -ge 16 ] && runs=$(((scale_runs + 1) / 2))
  bench "scale-x$factor" scaling sigwiki $((rules * factor)) "$runs" \
    "$sw build $work/x$factor --targets all -q -o @SITE@"
done
for threads in 1 2; do
  bench "threads-$threads" threads sigwiki "$rules" "$scale_runs" \
    "env RAYON_NUM_THREADS=$threads $sw build $work/x1 --targets all -q -o @SITE@"
done

# Where a build spends its time, from one more 1x build.
if "$sw" build --help | grep -q -- '--timings'; then stage_flag=--timings; else stage_flag=-v; fi
echo "$stage_flag" >"$raw/stages-flag.txt"
"$sw" build "$work/x1" --targets all $stage_flag -o "$sites/site-stages" >"$raw/stages.txt" 2>&1 || true
rm -rf "$sites/site-stages"

# sigwiki's own benchmarks, in the same run: converting through processing pipelines, the live
# preview's edit-to-visible latency and the evaluation throughput beside rsigma. Each exits 1
# when over its budget; the report shows their verdicts.
if [ "$quick" = 1 ]; then own_runs=3 serve_runs=3 eval_repeat=50; else own_runs=20 serve_runs=10 eval_repeat=${REPEAT:-500}; fi
log "pipelines: benches/convert_pipelines.sh"
"$repo/benches/convert_pipelines.sh" --no-build "$own_runs" >"$raw/pipelines.txt" 2>&1 || true
log "serve latency: benches/serve_latency.py"
python3 "$repo/benches/serve_latency.py" --no-build --runs "$serve_runs" >"$raw/serve.txt" 2>&1 || true
log "evaluation: benches/eval.sh"
REPEAT=$eval_repeat "$repo/benches/eval.sh" >"$raw/eval.txt" 2>&1 || true

load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report ----------------------------------------------------------------------------------

pip_versions() { "$1/bin/python" -m pip list --format=freeze --disable-pip-version-check 2>/dev/null |
  grep -iE "^($2)==" | tr '\n' ' ' | sed 's/ $//'; }
{
  printf 'date\t%s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')"
  printf 'mode\t%s\n' "$([ "$quick" = 1 ] && echo "quick (trial)" || echo full)"
  printf 'cores\t%s\n' "$(nproc)"
  printf 'cpu\t%s\n' "$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
  printf 'ram\t%s\n' "$(awk '/^MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  printf 'os\t%s\n' "$( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null), kernel $(uname -r)"
  printf 'load\t%s at the start, %s at the end\n' "$load_start" "$load_end"
  printf 'corpus\t%s\n' "$(short "$corpus")"
  printf 'sites\t%s\n' "$(findmnt -n -o FSTYPE -T "$sites" 2>/dev/null || echo '?') ($sites)"
  printf 'rules\t%s\n' "$rules"
  printf 'sigmac_rules\t%s\n' "$sigmac_rules"
  printf 'sigmac_aborts\t%s\n' "$(wc -l <"$aborts")"
  printf 'v:sigwiki\t%s (%s%s), rustc %s\n' "$("$sw" --version | cut -d' ' -f2)" \
    "$(git rev-parse --short HEAD)" "$(git diff --quiet HEAD -- src Cargo.toml Cargo.lock || echo ', modified')" \
    "$(rustc --version | cut -d' ' -f2)"
  printf 'v:sigma-cli\t%s\n' "$(pip_versions "$venv_cli" 'sigma-cli|pysigma|pysigma-backend-elasticsearch|pysigma-backend-splunk')"
  printf 'v:sigmac\t%s\n' "$(pip_versions "$venv_sigmac" 'sigmatools')"
  printf 'v:rsigma\t%s\n' "$("$rsigma" --version)"
  printf 'v:python\t%s\n' "$(python3 --version | cut -d' ' -f2)"
  printf 'v:hyperfine\t%s\n' "$(hyperfine --version | cut -d' ' -f2)"
  printf 'v:time\t%s\n' "GNU time $(dpkg-query -W -f='${Version}' time 2>/dev/null || /usr/bin/time --version 2>&1 | head -n 1)"
} >"$raw/meta.tsv"

python3 "$helpers/report.py" "$raw" >"$report"
log "wrote $report (raw data in $raw)"
cat "$report"
