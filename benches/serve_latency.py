#!/usr/bin/env python3
"""benches/serve_latency.py - edit-to-visible latency of `sigwiki serve` on the SigmaHQ corpus.

Starts `sigwiki serve` on a copy of the corpus (3,780 rules), waits for the first build, then
edits one rule file several times (its title) and measures, for each edit, from the file write
to the rule's page being served with the new title (polling the page over HTTP until its bytes
change). It also measures when a status long poll for that page returns (when a browser showing
the page would reload), when the all-rules table shows the new title (the index pages and
exports follow the rule pages), and how long a new rule file and a deleted one take to appear
and disappear.

Usage: benches/serve_latency.py [--no-build] [--runs N] [--targets LIST] [--verbose]
  --no-build   use the existing target/release/sigwiki
  --runs N     edits to time (default 10)
  --targets    passed to `sigwiki serve --targets` (default: its own default)
  --verbose    print the server's log (one line per update, with its steps)
Environment: SIGWIKI_SHARED (default: <repo>/../shared), BUDGET_MS (default 150).

Prints each run, the medians and the load average; exits 1 when the median edit-to-page time is
over the budget. Timings are wall time on a shared machine: read them with the load average.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RULE = "rules/windows/process_creation/proc_creation_win_certutil_download.yml"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    """One keep-alive HTTP connection to the server."""

    def __init__(self, port, timeout=10):
        self.port = port
        self.timeout = timeout
        self.conn = None

    def get(self, path):
        for attempt in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                self.conn.request("GET", path)
                response = self.conn.getresponse()
                return response.status, response.read()
            except (OSError, http.client.HTTPException):
                self.conn = None
                if attempt:
                    raise
        raise RuntimeError("unreachable")


def page_of(relative):
    return "/rules/" + re.sub(r"\.ya?ml$", "", relative) + ".html"


def wait_until(what, check, timeout, interval):
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if check():
            return time.perf_counter()
        time.sleep(interval)
    raise SystemExit(f"timed out waiting for {what}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--targets")
    parser.add_argument("--verbose", action="store_true", help="print the server's log")
    args = parser.parse_args()
    shared = os.environ.get("SIGWIKI_SHARED", os.path.join(REPO, "..", "shared"))
    corpus = os.path.join(shared, "corpus", "sigmahq")
    budget = float(os.environ.get("BUDGET_MS", "150"))
    if not os.path.isdir(corpus):
        print(f"skipped: {corpus} is absent")
        return 0
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=REPO, check=True)
    binary = os.path.join(REPO, "target", "release", "sigwiki")

    work = tempfile.mkdtemp(prefix="sigwiki-serve-bench-")
    tree = os.path.join(work, "sigmahq")
    shutil.copytree(corpus, tree)
    rule = os.path.join(tree, RULE)
    original = open(rule, encoding="utf-8").read()
    title = re.search(r"^title: (.*)$", original, re.M).group(1)
    page = page_of(RULE)

    port = free_port()
    command = [binary, "serve", tree, "--port", str(port)]
    if args.targets:
        command += ["--targets", args.targets]
    log_path = os.path.join(work, "serve.log")
    log = open(log_path, "w")
    server = subprocess.Popen(command, stderr=log, stdout=log, cwd=work)
    client = Client(port)
    try:
        start = time.perf_counter()

        def first_build():
            try:
                status, body = client.get("/__sigwiki/status")
                return status == 200 and json.loads(body)["version"] >= 1
            except OSError:
                return False

        wait_until("the first build", first_build, 300, 0.05)
        print(f"first build served after {time.perf_counter() - start:.2f} s")
        status, _ = client.get(page)
        if status != 200:
            raise SystemExit(f"{page}: HTTP {status}")

        def version():
            return json.loads(client.get("/__sigwiki/status")[1])["version"]

        rows = []
        for run in range(1, args.runs + 1):
            time.sleep(1.0)  # let the previous update finish, index pages and all
            new_title = f"{title} (edit {run})"
            marker = new_title.encode()
            since = version()
            poll = {}

            def long_poll():
                query = urllib.parse.urlencode({"since": since, "page": page})
                poller = Client(port, timeout=30)
                poller.get(f"/__sigwiki/status?{query}")
                poll["done"] = time.perf_counter()

            waiter = threading.Thread(target=long_poll)
            waiter.start()
            time.sleep(0.05)  # the long poll is held by now
            text = original.replace(f"title: {title}", f"title: {new_title}", 1)
            t0 = time.perf_counter()
            with open(rule, "w", encoding="utf-8") as f:
                f.write(text)
            t_page = wait_until("the new page", lambda: marker in client.get(page)[1], 30, 0.002)
            waiter.join(30)
            t_table = wait_until(
                "the rules table", lambda: marker in client.get("/rules.html")[1], 30, 0.02
            )
            row = (
                (t_page - t0) * 1000,
                (poll.get("done", float("nan")) - t0) * 1000,
                (t_table - t0) * 1000,
            )
            rows.append(row)
            print(f"run {run:2}: page {row[0]:6.1f} ms   long poll {row[1]:6.1f} ms   rules table {row[2]:6.1f} ms")

        # A new rule file and a deleted one.
        time.sleep(1.0)
        added = os.path.join(os.path.dirname(rule), "bench_added_rule.yml")
        added_page = page_of(os.path.relpath(added, tree))
        text = re.sub(r"^id: .*$", "id: 0b3f6c1e-5d2a-4e8f-9a7b-6c5d4e3f2a1b", original, count=1, flags=re.M)
        text = text.replace(f"title: {title}", "title: Added By The Serve Benchmark", 1)
        t0 = time.perf_counter()
        with open(added, "w", encoding="utf-8") as f:
            f.write(text)
        t_added = wait_until("the added page", lambda: client.get(added_page)[0] == 200, 30, 0.002)
        time.sleep(1.0)
        t0_removed = time.perf_counter()
        os.remove(added)
        t_removed = wait_until("the removed page", lambda: client.get(added_page)[0] == 404, 30, 0.002)

        pages = [r[0] for r in rows]
        polls = [r[1] for r in rows]
        tables = [r[2] for r in rows]
        median = statistics.median(pages)
        print()
        print(f"edit to page served:      median {median:6.1f} ms  (min {min(pages):.1f}, max {max(pages):.1f})")
        print(f"edit to long poll answer: median {statistics.median(polls):6.1f} ms")
        print(f"edit to rules table:      median {statistics.median(tables):6.1f} ms")
        print(f"new rule file served:     {(t_added - t0) * 1000:6.1f} ms")
        print(f"deleted rule file gone:   {(t_removed - t0_removed) * 1000:6.1f} ms")
        print(f"cores: {os.cpu_count()}  load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        updates = [l.strip() for l in open(log_path) if "updated in" in l]
        if updates:
            print(f"server, last update: {updates[-1]}")
        verdict = "within" if median <= budget else "OVER"
        print(f"{verdict} the budget of {budget:.0f} ms")
        return 0 if median <= budget else 1
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        if args.verbose:
            print("server log:")
            print(open(log_path).read())
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
