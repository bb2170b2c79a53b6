#!/usr/bin/python3
"""The seed's approach to gathering, as the peer of bench/gather.sh:
python3-requests in a thread pool of a given width, one GET per URL with a
timeout, status 200 saved to a file, anything else counted as failed.

Usage: gather-requests.py URLS OUTDIR WIDTH TIMEOUT_S
Prints one JSON line: {"kept": n, "failed": n, "seconds": t}."""

import concurrent.futures
import json
import os
import sys
import threading
import time

import requests

local = threading.local()


def fetch(job):
    i, url, outdir, timeout = job
    session = getattr(local, "session", None)
    if session is None:
        session = local.session = requests.Session()
    try:
        r = session.get(url, timeout=timeout)
    except requests.RequestException:
        return False
    if r.status_code != 200:
        return False
    with open(os.path.join(outdir, "%05d_%s" % (i, os.path.basename(url))), "wb") as f:
        f.write(r.content)
    return True


def main():
    urls_file, outdir, width, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    os.makedirs(outdir, exist_ok=True)
    with open(urls_file) as f:
        urls = [line.strip() for line in f if line.strip()]
    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=width) as pool:
        results = list(pool.map(fetch, [(i, u, outdir, timeout) for i, u in enumerate(urls)]))
    seconds = time.monotonic() - t0
    print(json.dumps({"kept": sum(results), "failed": len(results) - sum(results), "seconds": seconds}))


if __name__ == "__main__":
    main()
