#!/usr/bin/env python3
"""Lists the pipeline reference outputs a real parser of the target language rejects.

For every `pysigma-<target>+<pipeline>.jsonl.gz` of `<shared>/oracle/pipelines/`, each query
of each reference output with status ok (sigma-cli separates the queries of one file by a blank
line) is checked with the validators of tests/query_syntax/: luqum for lucene, eql for eql, the
Kusto language service for kusto (a pipeline's output is a whole query, `Table | where ...`,
parsed as it stands). A rule is listed when one of its queries is rejected. ES|QL and Splunk
have no parser here: their lists are empty. The result (rule paths only, sorted) is written as
JSON to tests/pipeline_parity/reference-unparseable.json, which tests/pipeline_parity.rs reads.

Usage (the Python must have luqum==1.0.0 and eql==1.0.1, `node` must be on PATH):
    PYTHON tests/pipeline_parity/reference_unparseable.py [--shared DIR] [--kql-dir DIR]
        [--out FILE] [--verify]
--shared   the shared folder (default: $SIGWIKI_SHARED, else ../shared beside the checkout)
--kql-dir  a folder whose node_modules holds @kusto/language-service-next 12.4.1
           (default: $SIGWIKI_KQL_DIR, else ~/.cache/sigma-oracle/kql)
--verify   also recompute the lists of the references without pipelines that the validators
           handle (pysigma-lucene, pysigma-eql, pysigma-kusto) and compare them with
           <shared>/oracle/reference-unparseable.json, proving the method; exits 1 on a mismatch.
"""
import argparse
import gzip
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
VALIDATORS = os.path.join(ROOT, "tests", "query_syntax")


def language_of(reference):
    """The validator language of a reference file stem, or None when there is no parser."""
    target = reference.split("-", 1)[1].split("+", 1)[0]
    return {"lucene": "lucene", "eql": "eql", "kusto": "kusto"}.get(target)


def queries(output):
    """The queries of one sigma-cli output: blank-line separated, trailing whitespace trimmed."""
    return [q.rstrip() for q in output.split("\n\n") if q.strip()]


def read_reference(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            v = json.loads(line)
            if v.get("status") == "ok":
                yield v["rule"], v.get("output", "")


def rejected_rules(language, items, kql_dir, whole):
    """Rules of `items` ((rule, query) pairs) one query of which the validator rejects."""
    if language == "kusto":
        command = ["node", os.path.join(VALIDATORS, "check_kql.js"), kql_dir]
    else:
        script = "check_lucene.py" if language == "lucene" else "check_eql.py"
        command = [sys.executable, os.path.join(VALIDATORS, script)]
    lines = []
    for rule, query in items:
        line = {"rule": rule, "query": query}
        if whole:
            line["whole"] = True
        lines.append(json.dumps(line))
    run = subprocess.run(
        command,
        input="\n".join(lines) + "\n",
        capture_output=True,
        text=True,
        check=False,
    )
    if run.returncode != 0:
        sys.exit("validator %s failed (%d):\n%s" % (command, run.returncode, run.stderr))
    sys.stderr.write(run.stderr)
    return {json.loads(l)["rule"] for l in run.stdout.splitlines() if l.strip()}


def unparseable(path, reference, kql_dir):
    language = language_of(reference)
    if language is None:
        return []
    items = [(rule, q) for rule, output in read_reference(path) for q in queries(output)]
    # Pipeline outputs of kusto are whole queries; the plain reference holds `where` expressions.
    whole = language == "kusto" and "+" in reference
    return sorted(rejected_rules(language, items, kql_dir, whole))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_shared = os.environ.get("SIGWIKI_SHARED") or os.path.join(ROOT, "..", "shared")
    default_kql = os.environ.get("SIGWIKI_KQL_DIR") or os.path.expanduser(
        "~/.cache/sigma-oracle/kql"
    )
    parser.add_argument("--shared", default=default_shared)
    parser.add_argument("--kql-dir", default=default_kql)
    parser.add_argument(
        "--out", default=os.path.join(HERE, "reference-unparseable.json")
    )
    parser.add_argument("--verify", action="store_true")
    args = parser.parse_args()

    if args.verify:
        listed = json.load(open(os.path.join(args.shared, "oracle", "reference-unparseable.json")))
        for reference in ("pysigma-lucene", "pysigma-eql", "pysigma-kusto"):
            path = os.path.join(args.shared, "oracle", reference + ".jsonl.gz")
            ours = unparseable(path, reference, args.kql_dir)
            if ours != sorted(listed[reference]):
                sys.exit(
                    "%s: recomputed %d rules, the shared list has %d"
                    % (reference, len(ours), len(listed[reference]))
                )
            print("%s: %d rules, as the shared list" % (reference, len(ours)))

    folder = os.path.join(args.shared, "oracle", "pipelines")
    result = {}
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".jsonl.gz"):
            continue
        reference = name[: -len(".jsonl.gz")]
        result[reference] = unparseable(os.path.join(folder, name), reference, args.kql_dir)
        print("%s: %d unparseable" % (reference, len(result[reference])))
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(result, f, indent=1, sort_keys=True)
        f.write("\n")
    print("written to %s" % args.out)


if __name__ == "__main__":
    main()
