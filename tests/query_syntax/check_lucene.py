#!/usr/bin/env python3
"""Checks Lucene query strings with luqum (pin: luqum==1.0.0).

Reads JSON lines {"rule": ..., "query": ...} on stdin and prints one JSON line
{"rule": ..., "error": ...} on stdout for every query luqum rejects. Exits 0 when every
line was checked (whatever the verdicts), non-zero when the checker itself cannot run.
Used by tests/query_syntax.rs for es-qs, graylog, lucene and the query of xpack-watcher watches.
"""
import json
import sys

from luqum.parser import parser

sys.setrecursionlimit(20000)  # deeply nested (but valid) queries must not fail as RecursionError


def check(query):
    """The parser's message for a rejected query, or None."""
    try:
        parser.parse(query)
    except Exception as error:  # luqum raises several exception types; any of them rejects
        return "%s: %s" % (type(error).__name__, error)
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
    print("luqum: %d queries checked, %d rejected" % (checked, rejected), file=sys.stderr)


if __name__ == "__main__":
    main()
