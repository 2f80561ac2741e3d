#!/usr/bin/env python3
"""Checks EQL queries with Elastic's own parser (pin: eql==1.0.1), in Elasticsearch syntax.

Reads JSON lines {"rule": ..., "query": ...} on stdin and prints one JSON line
{"rule": ..., "error": ...} on stdout for every query the parser rejects. Exits 0 when every
line was checked, non-zero when the checker itself cannot run.

Settings: `eql.parser.elasticsearch_syntax` (what Elasticsearch accepts: `:`, `like~`,
`regex~`, `?field`, backquoted field names; it also type-checks, so `Field:3` is rejected as
`:` needs a string), plus the Elasticsearch-only sequence features the package gates behind
their own switches: `with runs=N`, `sample by` and missing events `![...]`
(`allow_runs`, `allow_sample`, `allow_negation`), which correlation rules need. Function names
are checked (no `ignore_missing_functions`): eql 1.0.1 knows every function of Elasticsearch
EQL (cidrMatch, startsWith, stringContains, ...), so an unknown name is a real error. These
settings reject exactly the 754 pysigma-eql reference outputs listed in
reference-unparseable.json and accept the other 2,996.
"""
import json
import sys

from eql.parser import (
    allow_negation,
    allow_runs,
    allow_sample,
    elasticsearch_syntax,
    parse_query,
)


def check(query):
    """The parser's message for a rejected query, or None."""
    try:
        with elasticsearch_syntax, allow_runs, allow_sample, allow_negation:
            parse_query(query)
    except Exception as error:  # EqlSyntaxError, EqlTypeMismatchError, EqlSemanticError, ...
        return "%s: %s" % (type(error).__name__, " ".join(str(error).split()))
    return None


def main():
    checked = rejected = 0
    for line in sys.stdin:
        if not line.strip():
            continue
        item = json.loads(line)
        checked += 1
        message = check(item["query"])
        if message is not None:
            rejected += 1
            print(json.dumps({"rule": item["rule"], "error": message}), flush=True)
    print("eql: %d queries checked, %d rejected" % (checked, rejected), file=sys.stderr)


if __name__ == "__main__":
    main()
