#!/usr/bin/env python3
"""Lists the rule files on which legacy sigmac (sigmatools 0.23.1) aborts the whole run.

Usage (with the sigmatools virtualenv's python): sigmac_aborts.py CORPUS TARGET...

`sigmac -r` stops at the first rule that raises an exception it does not handle (a KeyError
on `|expand` or `|fieldref`, for instance), even with --defer-abort and
--ignore-backend-errors, so it cannot convert the SigmaHQ corpus in one run as it is.
compare.sh therefore times sigmac on the corpus without those files. This script finds them
by making, for each rule file, the calls `sigmac --shoot-yourself-in-the-foot -t TARGET`
makes (no configuration, one backend object for the run), and prints the path (relative to
CORPUS) of every file whose exception sigmac would not catch.
"""

import pathlib
import sys
import warnings

warnings.filterwarnings("ignore")

import yaml  # noqa: E402  (installed with sigmatools)
import sigma.backends.discovery as backends  # noqa: E402
from sigma.backends.base import BackendOptions  # noqa: E402
from sigma.backends.exceptions import (  # noqa: E402
    BackendError,
    FullMatchError,
    NotSupportedError,
    PartialMatchError,
)
from sigma.configuration import SigmaConfigurationChain  # noqa: E402
from sigma.parser.collection import SigmaCollectionParser  # noqa: E402
from sigma.parser.exceptions import SigmaCollectionParseError, SigmaParseError  # noqa: E402

# The exceptions sigmac's main loop catches (sigma/sigmac.py); with -d and -I it goes on
# after each of them.
HANDLED = (
    OSError,
    yaml.parser.ParserError,
    yaml.scanner.ScannerError,
    SigmaParseError,
    SigmaCollectionParseError,
    NotSupportedError,
    BackendError,
    NotImplementedError,
    TypeError,
    PartialMatchError,
    FullMatchError,
)


def main() -> int:
    if len(sys.argv) < 3:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    corpus = pathlib.Path(sys.argv[1])
    aborts = set()
    for target in sys.argv[2:]:
        configs = SigmaConfigurationChain()
        backend = backends.getBackend(target)(configs, BackendOptions(None, None))
        for path in sorted(corpus.rglob("*.yml")):
            try:
                with path.open(encoding="utf-8") as f:
                    parser = SigmaCollectionParser(f, configs, None, path)
                    backend.setYmlFileName(str(path))
                    list(parser.generate(backend))
            except HANDLED:
                pass
            except Exception:  # noqa: BLE001 - exactly the ones sigmac does not catch
                aborts.add(str(path.relative_to(corpus)))
    for rel in sorted(aborts):
        print(rel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
