#!/usr/bin/env python3
"""Builds expected.tsv for tests/sigmahq_retired.rs from a run of the oracle.

Usage: make_expected.py SIGMAHQ_ROOT ORACLE_OUT
  SIGMAHQ_ROOT  a SigmaHQ/sigma checkout (its deprecated/ and unsupported/ folders are read)
  ORACLE_OUT    what `../shared/oracle/oracle.sh DIR ORACLE_OUT <references>` wrote for a DIR
                holding just those two folders (OUT/<reference>/<folder>/<path>.txt or .err)

One line per rule: its path, the FNV-1a 64 hash of the rule file's bytes (a rule that changed
since is left out by the test), then one cell per reference (the header names them): `err` when
the converter refused the rule, `-` when it printed nothing, else `ok` or `invalid` (the
target's real parser rejects the output: the validators of tests/query_syntax/, found through
SIGWIKI_PY_PARSERS and SIGWIKI_KQL_DIR as in tests/query_syntax.rs), a colon, the FNV-1a 64 hash
of the output with trailing whitespace trimmed, a colon and its length in bytes. Only hashes of
the outputs are kept: the file stays small and holds no text of the rules (watches quote their
titles and descriptions); to see a difference, run the oracle on the rule.
"""
import json
import os
import pathlib
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
CHECKERS = HERE.parent / "query_syntax"
REFERENCES = [
    "sigmac-es-qs", "sigmac-xpack-watcher", "sigmac-graylog",
    "pysigma-lucene", "pysigma-splunk", "pysigma-eql", "pysigma-esql", "pysigma-kusto",
]
LUCENE = ["sigmac-es-qs", "sigmac-graylog", "sigmac-xpack-watcher", "pysigma-lucene"]


def fnv1a64(data):
    h = 0xcbf29ce484222325
    for b in data:
        h = ((h ^ b) * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
    return "%016x" % h


def watch_queries(text):
    """Every query_string query of the watches in an xpack-watcher output."""
    found, rest = [], text
    while "<<EOF\n" in rest:
        body = rest[rest.index("<<EOF\n") + len("<<EOF\n"):]
        end = body.find("\nEOF\n")
        end = end if end >= 0 else len(body)

        def walk(node):
            if isinstance(node, dict):
                for key, value in node.items():
                    if key == "query_string" and isinstance(value, dict) and "query" in value:
                        if value["query"] not in found:
                            found.append(value["query"])
                    else:
                        walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(json.loads(body[:end]))
        rest = body[end:]
    return found


def checker(reference):
    python = os.environ.get("SIGWIKI_PY_PARSERS")
    if reference in LUCENE:
        return [python, str(CHECKERS / "check_lucene.py")]
    if reference == "pysigma-eql":
        return [python, str(CHECKERS / "check_eql.py")]
    if reference == "pysigma-kusto":
        return ["node", str(CHECKERS / "check_kql.js"), os.environ.get("SIGWIKI_KQL_DIR")]
    return None


def rejected(reference, outputs):
    """The rules whose output the target's parser rejects."""
    command = checker(reference)
    if command is None:
        return set()
    if None in command:
        sys.exit("set SIGWIKI_PY_PARSERS and SIGWIKI_KQL_DIR (see tests/query_syntax.rs)")
    lines = []
    for rule, text in outputs.items():
        if reference == "sigmac-xpack-watcher":
            queries = watch_queries(text)
        elif reference.startswith("pysigma-"):
            queries = text.rstrip().split("\n\n")
        else:
            queries = [text.rstrip()]
        lines += [json.dumps({"rule": rule, "query": q}) for q in queries if q.strip()]
    run = subprocess.run(command, input="\n".join(lines) + "\n", capture_output=True, text=True, check=True)
    return {json.loads(line)["rule"] for line in run.stdout.splitlines() if line.strip()}


def main():
    root, oracle = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
    rules = sorted(p for folder in ("deprecated", "unsupported") for p in (root / folder).rglob("*.yml"))
    cells = {str(p.relative_to(root)): [] for p in rules}
    for reference in REFERENCES:
        outputs, failed = {}, set()
        for path in rules:
            rule = str(path.relative_to(root))
            base = oracle / reference / pathlib.Path(rule).with_suffix("")
            if base.with_suffix(".txt").exists():
                outputs[rule] = base.with_suffix(".txt").read_text(encoding="utf-8")
            elif base.with_suffix(".err").exists():
                failed.add(rule)
        bad = rejected(reference, {r: t for r, t in outputs.items() if t.strip()})
        for rule in cells:
            output = outputs.get(rule, "").rstrip().encode("utf-8")
            if rule in failed:
                cell = "err"
            elif not output:
                cell = "-"
            else:
                verdict = "invalid" if rule in bad else "ok"
                cell = "%s:%s:%d" % (verdict, fnv1a64(output), len(output))
            cells[rule].append(cell)
        print(reference, len(outputs), "outputs,", len(failed), "refused,", len(bad), "invalid", file=sys.stderr)
    with open(HERE / "expected.tsv", "w", encoding="utf-8") as out:
        out.write("\t".join(["# rule", "rule_fnv1a64"] + REFERENCES) + "\n")
        for path in rules:
            rule = str(path.relative_to(root))
            out.write("\t".join([rule, fnv1a64(path.read_bytes())] + cells[rule]) + "\n")

if __name__ == "__main__":
    main()
