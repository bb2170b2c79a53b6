#!/usr/bin/python3
"""The seed's own approach to gathering (mlimages), as a peer of
bench/gather.sh: asyncio + aiohttp, one session whose connector allows WIDTH
connections, the URL list cut into slices of WIDTH URLs, and each slice
awaited as a whole before the next one starts. A response is kept when its
status is 200 and the final URL still names the requested file (the seed's
placeholder check); each request has a total timeout. Written from that
description, for the benchmark only.

Usage: gather-seed.py URLS OUTDIR WIDTH TIMEOUT_S
Prints one JSON line: {"kept": n, "failed": n, "seconds": t}."""

import asyncio
import json
import os
import sys
import time
from urllib.parse import urlsplit

import aiohttp


def file_name(url):
    return os.path.basename(urlsplit(str(url)).path)


async def fetch(session, outdir, index, url):
    name = file_name(url)
    try:
        async with session.get(url) as response:
            if response.status != 200 or file_name(response.url) != name:
                return False
            body = await response.read()
    except (aiohttp.ClientError, asyncio.TimeoutError):
        return False
    if not body:
        return False
    with open(os.path.join(outdir, "%05d_%s" % (index, name)), "wb") as f:
        f.write(body)
    return True


async def gather(urls, outdir, width, timeout):
    kept = 0
    connector = aiohttp.TCPConnector(limit=width)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=timeout)) as session:
        for start in range(0, len(urls), width):
            tasks = [asyncio.ensure_future(fetch(session, outdir, start + i, u))
                     for i, u in enumerate(urls[start:start + width])]
            done, _ = await asyncio.wait(tasks)
            kept += sum(1 for task in done if task.result())
    return kept


def main():
    urls_file, outdir, width, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    os.makedirs(outdir, exist_ok=True)
    with open(urls_file) as f:
        urls = [line.strip() for line in f if line.strip()]
    t0 = time.monotonic()
    kept = asyncio.run(gather(urls, outdir, width, timeout))
    seconds = time.monotonic() - t0
    print(json.dumps({"kept": kept, "failed": len(urls) - kept, "seconds": seconds}))


if __name__ == "__main__":
    main()
