#!/usr/bin/env python3
"""Writes COPIES copies of a Sigma rule corpus for the scaling benchmark of compare.sh.

Usage: scale.py CORPUS DEST COPIES

DEST/copy-00 holds the rule files (.yml/.yaml) of CORPUS byte for byte; DEST/copy-NN (NN >= 1)
holds the same files with every UUID replaced by a fresh one, derived deterministically from
the copy number and the original UUID (uuid5), so that ids stay unique across copies as in a
real rule repository of that size, and references between rules of one copy (`related:`,
correlation and filter `rules:`) still point inside that copy. Other files (licences, notes)
are not copied.
"""

import pathlib
import re
import sys
import uuid

UUID = re.compile(
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"
)
# A fixed namespace so that every run generates the same copies.
NAMESPACE = uuid.UUID("6f1d3c52-7a0e-4f7b-9a55-3c2b8e0d9a41")


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    corpus, dest, copies = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]), int(sys.argv[3])
    rules = sorted(
        p for p in corpus.rglob("*") if p.is_file() and p.suffix in (".yml", ".yaml")
    )
    if not rules:
        print(f"{corpus}: no rule files", file=sys.stderr)
        return 1
    for copy in range(copies):
        root = dest / f"copy-{copy:02}"

        def fresh(match: re.Match, copy: int = copy) -> str:
            return str(uuid.uuid5(NAMESPACE, f"{copy}:{match.group(0).lower()}"))

        for path in rules:
            target = root / path.relative_to(corpus)
            target.parent.mkdir(parents=True, exist_ok=True)
            data = path.read_bytes()
            if copy > 0:
                # surrogateescape keeps any byte that is not UTF-8 as it is.
                text = data.decode("utf-8", "surrogateescape")
                data = UUID.sub(fresh, text).encode("utf-8", "surrogateescape")
            target.write_bytes(data)
    print(f"{copies} copies of {len(rules)} rule files under {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
