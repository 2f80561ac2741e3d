#!/usr/bin/env bash
# Rebuilds site/ from rules/ and fails if the committed site/ differs: the committed wiki is
# current, and builds are deterministic. Called from .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
cargo run --quiet --release -- build rules -o "$out/site" -q
if ! diff -r site "$out/site" >"$out/diff.txt"; then
  echo "site/ is not the output of 'sigwiki build' on rules/; rebuild it with:" >&2
  echo "  cargo run --release -- build" >&2
  head -50 "$out/diff.txt" >&2
  exit 1
fi
echo "site/ is up to date"
