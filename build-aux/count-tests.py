#!/usr/bin/python3
"""Sums meson testlog.json files into "N passed, N failed[, N skipped]".

A TAP program counts each of its test cases (a skipped case prints its
reason); any other test counts once. A program that crashed or timed out
counts as one failure even when its cases before the crash passed."""
import json
import re
import sys

passed = failed = skipped = 0
failures = []
for path in sys.argv[1:]:
    try:
        lines = open(path, encoding="utf-8").read().splitlines()
    except OSError as e:
        print(f"missing test log {path}: {e}")
        failed += 1
        failures.append(f"test log {path} is missing")
        continue
    for line in lines:
        t = json.loads(line)
        result = t["result"]
        out = t.get("stdout") or ""
        cases = re.findall(r"^(not ok|ok)\b.*$", out, re.M)
        if cases:
            for m in re.finditer(r"^(not ok|ok)\b(.*)$", out, re.M):
                status, rest = m.group(1), m.group(2)
                if "# SKIP" in rest:
                    skipped += 1
                    print(f"skipped: {t['name']}:{rest.strip()}")
                elif status == "ok":
                    passed += 1
                else:
                    failed += 1
                    failures.append(f"{t['name']}:{rest.strip()}")
            if result in ("FAIL", "ERROR", "TIMEOUT", "UNEXPECTEDPASS") and \
                    not any(s == "not ok" for s in cases):
                failed += 1
                failures.append(f"{t['name']} ({result.lower()} after its last case)")
        elif result == "OK":
            passed += 1
        elif result == "SKIP":
            skipped += 1
            print(f"skipped: {t['name']}")
        else:
            failed += 1
            failures.append(f"{t['name']} ({result.lower()})")
# Failures last, just above the summary, so a log's tail names them.
for f in failures:
    print(f"failed: {f}")
line = f"{passed} passed, {failed} failed"
if skipped:
    line += f", {skipped} skipped"
print(line)
sys.exit(0 if failed == 0 and passed > 0 else 1)
