#!/usr/bin/env python3
"""Writes the Markdown report of compare.sh from its raw folder (standard output).

Usage: report.py RAW_DIR

RAW_DIR holds meta.tsv (machine, versions), manifest.tsv (one row per timed command), and per
command ID.json (hyperfine --export-json), ID.time (/usr/bin/time -v) and stages.txt (the
per-stage timings of one build).
"""

import csv
import json
import pathlib
import re
import sys


def read_tsv(path: pathlib.Path) -> list[dict]:
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE))


def peak_rss_kib(path: pathlib.Path) -> int | None:
    if not path.is_file():
        return None
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", path.read_text())
    return int(match.group(1)) if match else None


def seconds(value: float) -> str:
    if value < 1:
        return f"{value * 1000:.0f} ms"
    return f"{value:.2f} s"


def mib(kib: int | None) -> str:
    return "—" if kib is None else f"{kib / 1024:.0f} MiB"


def number(text: str) -> str:
    return f"{int(text):,}" if text.strip().isdigit() else "—"


class Row:
    """One timed command: its manifest row, hyperfine figures and peak RSS."""

    def __init__(self, raw: pathlib.Path, entry: dict):
        self.id = entry["id"]
        self.group = entry["group"]
        self.tool = entry["tool"]
        self.command = entry["command"]
        self.rules_in = int(entry["rules_in"])
        self.converted = entry["converted"]
        result = json.loads((raw / f"{self.id}.json").read_text())["results"][0]
        self.median = float(result["median"])
        self.low = float(result["min"])
        self.high = float(result["max"])
        self.runs = len(result["times"])
        self.rss = peak_rss_kib(raw / f"{self.id}.time")
        self.exit = int(entry["exit"])

    @property
    def rate(self) -> float:
        return self.rules_in / self.median if self.median > 0 else 0.0

    @property
    def per_rule_ms(self) -> float:
        return self.median * 1000 / self.rules_in if self.rules_in else 0.0

    def wall(self) -> str:
        spread = "" if self.runs < 2 else f" ({seconds(self.low)}–{seconds(self.high)})"
        return f"{seconds(self.median)}{spread}"


def main() -> int:
    raw = pathlib.Path(sys.argv[1])
    meta = {}
    for line in (raw / "meta.tsv").read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("\t")
        meta[key] = value
    rows = {entry["id"]: Row(raw, entry) for entry in read_tsv(raw / "manifest.tsv")}
    out = []
    say = out.append

    say("# Benchmarks")
    say("")
    say(
        f"Written by `benches/compare.sh` on {meta['date']} ({meta['mode']}), every figure from that "
        "one run on one machine. Re-run the script to check them; they move with the machine and "
        "its load."
    )
    say("")
    say("## Machine and versions")
    say("")
    say("| | |")
    say("| --- | --- |")
    say(f"| CPU | {meta['cpu']}, {meta['cores']} cores |")
    say(f"| memory | {meta['ram']} |")
    say(f"| system | {meta['os']} |")
    say(f"| load average | {meta['load']} |")
    say(f"| corpus | SigmaHQ (`{meta['corpus']}`), {int(meta['rules']):,} rule files |")
    say(f"| built sites written to | {meta.get('sites', '?')} |")
    for key, label in [
        ("v:sigwiki", "sigwiki"),
        ("v:sigma-cli", "sigma-cli (pySigma)"),
        ("v:sigmac", "legacy sigmac"),
        ("v:rsigma", "rsigma"),
        ("v:python", "Python"),
        ("v:hyperfine", "hyperfine"),
        ("v:time", "peak RSS"),
    ]:
        say(f"| {label} | {meta.get(key, '—')} |")
    say("")

    say("## The whole corpus")
    say("")
    say(
        "Median wall time of the runs (fastest–slowest in brackets); rules per second is rule "
        "files in ÷ median; peak RSS from one more run under `/usr/bin/time -v`; rules converted "
        "counts the queries printed (sigma-cli, sigmac, rsigma) or the rule files without a "
        "conversion error (sigwiki). `$CORPUS` is the corpus folder."
    )
    say("")
    say("| task | tool | command | median wall | rules/s | peak RSS | rules converted |")
    say("| --- | --- | --- | ---: | ---: | ---: | ---: |")
    tasks = {
        "validation": "validate",
        "lucene": "convert to Lucene",
        "splunk": "convert to Splunk",
        "native": "convert (rsigma's own backend)",
        "build": "build the wiki (8 targets)",
    }
    for group, task in tasks.items():
        for row in (r for r in rows.values() if r.group == group):
            converted = number(row.converted)
            if group == "validation":
                converted = "(checked)" if converted == "—" else f"{converted} checked"
            elif group == "build":
                converted = f"{converted} pages"
            say(
                f"| {task} | {row.tool} | `{row.command}` | {row.wall()} | {row.rate:,.0f} | "
                f"{mib(row.rss)} | {converted} |"
            )
    say("")
    notes = [
        f"sigmac stops the whole run at the first rule that raises an exception it does not "
        f"handle, even with `--defer-abort --ignore-backend-errors`; {meta['sigmac_aborts']} "
        f"corpus rules do (`|expand`, `|fieldref`, …; listed by `benches/compare/sigmac_aborts.py`). "
        f"It is timed on the other {int(meta['sigmac_rules']):,} (`$CORPUS_SIGMAC`). "
        "`--shoot-yourself-in-the-foot` is sigmac without a field-mapping config, as sigwiki's "
        "`es-qs` and the reference conversions are.",
        "sigma-cli's `--skip-unsupported` goes on past rules its backend refuses. Its ATT&CK data "
        "(downloaded on first use, then cached) is seeded from the ATT&CK release of the shared "
        "data; the D3FEND validator, which downloads the D3FEND ontology, is excluded (the corpus "
        "has no D3FEND tags).",
        "rsigma has no Lucene or Splunk backend; its own PostgreSQL backend is timed instead.",
    ]
    exits = [r for r in rows.values() if r.exit != 0 and r.group in tasks]
    if exits:
        notes.append(
            "Exit statuses other than 0 (a tool's way of saying some rules failed): "
            + ", ".join(f"{r.tool} `{r.id}` {r.exit}" for r in exits)
            + "."
        )
    for note in notes:
        say(f"- {note}")
    say("")

    scale = sorted(
        (r for r in rows.values() if r.group == "scaling"), key=lambda r: r.rules_in
    )
    if scale:
        base = scale[0]
        say("## Scaling of `sigwiki build`")
        say("")
        say(
            "The corpus copied several times under different folder names (ids rewritten to "
            "fresh UUIDs, so every rule stays distinct), built with every target."
        )
        say("")
        say("| corpus | rule files | median wall | per rule | per rule vs 1× | peak RSS |")
        say("| --- | ---: | ---: | ---: | ---: | ---: |")
        for row in scale:
            say(
                f"| {row.rules_in // base.rules_in}× | {row.rules_in:,} | {row.wall()} | {row.per_rule_ms:.3f} ms | "
                f"{row.per_rule_ms / base.per_rule_ms:.2f} | {mib(row.rss)} |"
            )
        say("")
    threads = [rows[k] for k in ("threads-1", "threads-2") if k in rows]
    if len(threads) == 2:
        one, two = threads
        say("| threads (`RAYON_NUM_THREADS`) | median wall | speed-up |")
        say("| ---: | ---: | ---: |")
        say(f"| 1 | {one.wall()} | 1.00 |")
        say(f"| 2 | {two.wall()} | {one.median / two.median:.2f} |")
        say("")
    stages_file = raw / "stages.txt"
    stages = []
    if stages_file.is_file():
        stages = re.findall(
            r"^\s+([a-z][a-z &,]*?):?\s+(\d+(?:\.\d+)?) ms(?:\s+[\d.]+ %)?(?:\s+cpu\s+[\d.]+ ms)?\s*$",
            stages_file.read_text(),
            re.M,
        )
    if stages:
        flag_file = raw / "stages-flag.txt"
        flag = flag_file.read_text().strip() if flag_file.is_file() else "--timings"
        say(f"Where one 1× build spends its time (`sigwiki build {flag}`):")
        say("")
        say("| stage | time |")
        say("| --- | ---: |")
        for stage, ms in stages:
            say(f"| {stage} | {float(ms):.0f} ms |")
        say("")

    own = [
        (
            "pipelines.txt",
            "## Converting through processing pipelines",
            "`sigwiki convert -t TARGET -p PIPELINE $CORPUS`, whole process, beside the same "
            "target without a pipeline (`benches/convert_pipelines.sh`):",
        ),
        (
            "serve.txt",
            "## Live preview: from a saved edit to the page served",
            "`sigwiki serve` on a copy of the corpus: each run edits one rule's title and times "
            "the file write to the new page being served, to the status long poll answering "
            "(when an open browser reloads) and to the all-rules table showing it; then a new "
            "and a deleted rule file (`benches/serve_latency.py`):",
        ),
        (
            "eval.txt",
            "## Evaluating the rule set on events",
            "`sigwiki test --events` with every corpus rule on SigmaHQ's recorded regression "
            "events as JSON Lines, beside `rsigma engine eval` on the same events; startup is "
            "measured on an empty file and subtracted (`benches/eval.sh`):",
        ),
    ]
    for name, title, intro in own:
        path = raw / name
        if not path.is_file():
            continue
        say(title)
        say("")
        say(intro)
        say("")
        say("```text")
        for line in path.read_text().splitlines():
            say(line)
        say("```")
        say("")

    say("## Claims")
    say("")
    checks = []

    def ratio(slow: str, fast: str) -> float | None:
        if slow in rows and fast in rows and rows[fast].median > 0:
            return rows[slow].median / rows[fast].median
        return None

    r = ratio("lucene-sigma-cli", "lucene-sigwiki")
    if r is not None:
        checks.append((r >= 100, f"`sigwiki convert -t lucene` is {r:.0f}× faster than `sigma convert -t lucene` (claim: at least 100×)"))
    r = ratio("check-rsigma", "check-sigwiki")
    if r is not None:
        checks.append((r > 1, f"`sigwiki check` is {r:.2f}× as fast as `rsigma rule lint` (claim: faster)"))
    for target in ("lucene", "splunk"):
        r = ratio("native-rsigma-postgres", f"{target}-sigwiki")
        if r is not None:
            checks.append((r > 1, f"`sigwiki convert -t {target}` is {r:.2f}× as fast as rsigma's own conversion, `rsigma backend convert -t postgres` (claim: faster)"))
    if len(scale) > 1:
        largest = scale[-1]
        factor = largest.rules_in // scale[0].rules_in
        growth = largest.per_rule_ms / scale[0].per_rule_ms
        checks.append((growth <= 1.25, f"build time per rule at {factor}× is {growth:.2f}× the 1× figure (claim: within 1.25× at 16×)"))
        if largest.rss and scale[0].rss:
            memory = largest.rss / scale[0].rss
            checks.append((memory <= 2, f"peak memory at {factor}× is {memory:.2f}× the 1× figure (claim: at most 2×)"))
    build = rows.get("build-sigwiki")
    if build is not None:
        checks.append((build.median <= 0.5, f"`sigwiki build` of the corpus with every target takes {seconds(build.median)}, median (claim: at most 0.5 s)"))
    own_claims = [
        ("pipelines.txt", r"^(PASS|FAIL): (.*)$", None),
        ("serve.txt", r"^edit to page served:\s+median\s+([\d.]+) ms", 150.0),
        ("eval.txt", r"sigwiki / rsigma = ([\d.]+)", 5.0),
    ]
    for name, pattern, bound in own_claims:
        path = raw / name
        if not path.is_file():
            continue
        found = re.search(pattern, path.read_text(), re.M)
        if found is None:
            checks.append((False, f"`{name}` has no verdict (see the section above)"))
        elif name == "pipelines.txt":
            checks.append((found.group(1) == "PASS", f"converting through a pipeline: {found.group(2)}"))
        elif name == "serve.txt":
            ms = float(found.group(1))
            checks.append((ms <= bound, f"`sigwiki serve` shows a saved edit {ms:.0f} ms later, median (claim: at most {bound:.0f} ms)"))
        else:
            r = float(found.group(1))
            checks.append((r >= bound, f"`sigwiki test` evaluates {r:.2f}× as many events per core as `rsigma engine eval` (claim: at least {bound:.0f}×)"))
    for ok, text in checks:
        say(f"- {'✅' if ok else '❌'} {text}")
    say("")
    say(
        "Raw data: `target/bench-compare/` (hyperfine JSON per command, `/usr/bin/time -v` "
        "output, each command's output). Hot-path benchmarks inside the process: "
        "`cargo bench --bench hot_paths`."
    )
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
