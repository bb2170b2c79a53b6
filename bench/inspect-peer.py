#!/usr/bin/python3
"""Kiln's inspector against cleanvision on one generated set with planted issues.

    /usr/bin/python3 bench/inspect-peer.py [--build _build] [--cleanvision /tmp/cv/bin/python]
                                           [--seed 1] [--calibrate]

The set (deterministic for a seed): sharp photo-like pictures, and pictures
with one planted issue each, made from photos of their own (so no planted
image is a near copy of another):

  dark            a photo scaled to 10-35% of its brightness, some with a
                  few small bright lights (a night scene)
  light           the same towards white, some with a few dark specks
  low-information a flat mid-tone colour with mild noise or a faint gradient
                  (a near-black or near-white blank would be dark or light,
                  the more specific reason, for Kiln)
  blurry          a Gaussian blur of sigma 0.8-2% of the shorter side, half
                  of them with sensor noise added after it
  duplicate       pairs with the same pixels in differently compressed PNGs
  near-duplicate  pairs: a JPEG and a resized, recompressed copy

and clean pictures that tempt the checks: low-key (a lit subject on black),
high-key (on white) and low-contrast but sharp (fog).

Both tools run on one core over the same files; each image counts for an
issue when the tool flags it (for duplicates: when it is put in a group
with another image). Prints time and per-issue precision and recall.

cleanvision comes from PyPI in its own virtual environment, used only here:
    python3 -m venv /tmp/cv && /tmp/cv/bin/pip install cleanvision
--calibrate prints, for Kiln's statistics on the set, the thresholds that
separate each planted issue best (use another --seed than the report's).
Needs Debian's python3-pil and python3-numpy.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

ISSUES = ["dark", "light", "low-information", "blurry", "duplicate", "near-duplicate"]
CLEANVISION_NAMES = {
    "dark": "dark", "light": "light", "low-information": "low_information",
    "blurry": "blurry", "duplicate": "exact_duplicates", "near-duplicate": "near_duplicates",
}
KILN_NAMES = {
    "dark": "too-dark", "light": "too-light", "low-information": "low-information",
    "blurry": "blurry", "duplicate": "duplicate", "near-duplicate": "near-duplicate",
}


def photo(rng, w, h):
    """A sharp photo-like picture: a gradient, hard-edged shapes and lines, sensor noise."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    t = xx * np.cos(angle) + yy * np.sin(angle)
    t = (t - t.min()) / max(1e-6, t.max() - t.min())
    c0, c1 = rng.integers(20, 236, 3), rng.integers(20, 236, 3)
    base = c0[None, None, :] * (1 - t[..., None]) + c1[None, None, :] * t[..., None]
    im = Image.fromarray(base.astype(np.uint8))
    draw = ImageDraw.Draw(im)
    for _ in range(int(rng.integers(8, 20))):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        x0, y0 = int(rng.integers(-w // 4, w)), int(rng.integers(-h // 4, h))
        x1, y1 = x0 + int(rng.integers(w // 12, w // 2)), y0 + int(rng.integers(h // 12, h // 2))
        kind = rng.integers(0, 4)
        if kind == 0:
            draw.rectangle((x0, y0, x1, y1), fill=colour)
        elif kind == 1:
            draw.ellipse((x0, y0, x1, y1), fill=colour)
        elif kind == 2:
            points = [(int(rng.integers(0, w)), int(rng.integers(0, h))) for _ in range(int(rng.integers(3, 7)))]
            draw.polygon(points, fill=colour)
        else:
            draw.line((x0, y0, x1, y1), fill=colour, width=int(rng.integers(1, 6)))
    arr = np.asarray(im, dtype=np.float32) + rng.normal(0, rng.uniform(2, 6), (h, w, 1))
    return np.clip(arr, 0, 255)


def size(rng):
    w = int(rng.choice([320, 400, 480, 640, 800]))
    ratio = float(rng.choice([4 / 3, 3 / 2, 1.0, 3 / 4, 2 / 3]))
    return w, max(32, int(round(w / ratio)))


def specks(rng, arr, value, count):
    h, w = arr.shape[:2]
    im = Image.fromarray(arr.astype(np.uint8))
    draw = ImageDraw.Draw(im)
    for _ in range(count):
        x, y, r = int(rng.integers(0, w)), int(rng.integers(0, h)), int(rng.integers(2, 5))
        draw.ellipse((x - r, y - r, x + r, y + r), fill=(value, value, value))
    return np.asarray(im, dtype=np.float32)


def subject(rng, w, h, background):
    """A lit subject (10-30% of the frame) on a plain background."""
    arr = np.full((h, w, 3), background, dtype=np.float32) + rng.normal(0, 2, (h, w, 1))
    area = rng.uniform(0.10, 0.30)
    sw, sh = int(w * np.sqrt(area)), int(h * np.sqrt(area))
    x0, y0 = int(rng.integers(0, w - sw)), int(rng.integers(0, h - sh))
    arr[y0:y0 + sh, x0:x0 + sw] = photo(rng, sw, sh)
    return arr


def generate(folder, seed):
    """Writes the set; returns [(path, set of planted issues)]."""
    rng = np.random.default_rng(seed)
    items = []

    def save(arr, name, labels, **options):
        path = os.path.join(folder, name)
        Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8)).save(path, **options)
        items.append((path, set(labels)))
        return path

    jpeg = {"quality": 90}
    for i in range(150):
        save(photo(rng, *size(rng)), "clean-%03d.jpg" % i, [], **jpeg)
    for i in range(15):
        save(subject(rng, *size(rng), rng.uniform(0, 25)), "lowkey-%02d.jpg" % i, [], **jpeg)
        save(subject(rng, *size(rng), rng.uniform(230, 255)), "highkey-%02d.jpg" % i, [], **jpeg)
        arr = photo(rng, *size(rng))
        save(128 + (arr - arr.mean()) * rng.uniform(0.2, 0.35), "fog-%02d.jpg" % i, [], **jpeg)
    for i in range(50):
        arr = photo(rng, *size(rng)) * rng.uniform(0.10, 0.35)
        if i % 5 == 0:
            arr = specks(rng, arr, 250, int(rng.integers(3, 7)))
        save(arr, "dark-%02d.jpg" % i, ["dark"], **jpeg)
    for i in range(50):
        arr = 255 - (255 - photo(rng, *size(rng))) * rng.uniform(0.10, 0.35)
        if i % 5 == 0:
            arr = specks(rng, arr, 10, int(rng.integers(3, 7)))
        save(arr, "light-%02d.jpg" % i, ["light"], **jpeg)
    for i in range(30):
        w, h = size(rng)
        # Mid-tones: a near-black or near-white blank is dark or light first.
        arr = np.full((h, w, 3), rng.integers(100, 170) + rng.integers(-15, 16, 3), dtype=np.float32)
        if i % 2:
            arr += np.linspace(0, rng.uniform(3, 8), w, dtype=np.float32)[None, :, None]
        arr += rng.normal(0, rng.uniform(0.5, 2.5), (h, w, 1))
        save(arr, "blank-%02d.jpg" % i, ["low-information"], **jpeg)
    for i in range(50):
        w, h = size(rng)
        sigma = rng.uniform(0.008, 0.02) * min(w, h)
        im = Image.fromarray(photo(rng, w, h).astype(np.uint8)).filter(ImageFilter.GaussianBlur(sigma))
        arr = np.asarray(im, dtype=np.float32)
        if i % 2:
            arr = arr + rng.normal(0, rng.uniform(2, 5), (h, w, 1))  # sensor noise after the blur
        save(arr, "blurry-%02d.jpg" % i, ["blurry"], **jpeg)
    for i in range(20):
        arr = photo(rng, *size(rng))
        save(arr, "dup-%02d-a.png" % i, ["duplicate"], compress_level=9)
        save(arr, "dup-%02d-b.png" % i, ["duplicate"], compress_level=1)
    for i in range(20):
        arr = photo(rng, *size(rng))
        save(arr, "near-%02d-a.jpg" % i, ["near-duplicate"], quality=92)
        im = Image.fromarray(arr.astype(np.uint8))
        im = im.resize((im.width * 85 // 100, im.height * 85 // 100), Image.BILINEAR)
        save(np.asarray(im, dtype=np.float32), "near-%02d-b.jpg" % i, ["near-duplicate"], quality=70)
    return items


def run_kiln(build, paths):
    """kiln-cli inspect on one thread: {path: set of issues}, seconds, statistics."""
    exe = os.path.join(build, "src", "cli", "kiln-cli")
    start = time.perf_counter()
    out = subprocess.run([exe, "inspect", "--json", *paths], check=True, capture_output=True, text=True).stdout
    seconds = time.perf_counter() - start
    files = json.loads(out)["files"]
    by_kiln = {v: k for k, v in KILN_NAMES.items()}
    found = {f["path"]: set() for f in files}
    for f in files:
        found[f["path"]] |= {by_kiln[r] for r in f["flags"] if r in by_kiln}
        # The kept member of a group is unflagged but in the group.
        if "exact_group" in f:
            found[f["path"]].add("duplicate")
        if "near_group" in f:
            found[f["path"]].add("near-duplicate")
    return found, seconds, {f["path"]: f.get("statistics", {}) for f in files}


CLEANVISION_RUNNER = r"""
import json, sys, time
from cleanvision import Imagelab
paths = json.load(open(sys.argv[1]))
lab = Imagelab(filepaths=paths, verbose=False)
start = time.perf_counter()
lab.find_issues(n_jobs=1, verbose=False)
seconds = time.perf_counter() - start
columns = [c for c in lab.issues.columns if c.startswith("is_") and c.endswith("_issue")]
found = {str(p): [c[3:-6] for c in columns if bool(row[c])] for p, row in lab.issues.iterrows()}
json.dump({"seconds": seconds, "found": found}, sys.stdout)
"""


def run_cleanvision(python, paths, folder):
    by_cv = {v: k for k, v in CLEANVISION_NAMES.items()}
    list_path = os.path.join(folder, "paths.json")
    with open(list_path, "w") as f:
        json.dump(paths, f)
    start = time.perf_counter()
    out = subprocess.run([python, "-c", CLEANVISION_RUNNER, list_path], check=True,
                         capture_output=True, text=True).stdout
    wall = time.perf_counter() - start
    result = json.loads(out)
    found = {p: {by_cv[i] for i in issues if i in by_cv} for p, issues in result["found"].items()}
    return found, result["seconds"], wall


def score(items, found, issue):
    truth = {p for p, labels in items if issue in labels}
    flagged = {p for p, _ in items if issue in found.get(p, set())}
    hits = len(truth & flagged)
    precision = hits / len(flagged) if flagged else float("nan")
    recall = hits / len(truth) if truth else float("nan")
    return precision, recall, len(flagged)


def calibrate(items, statistics):
    """For each rule, the range of thresholds on Kiln's statistic that gives
    the most correct verdicts between the planted issue and the clean pictures."""
    rules = [
        ("dark", "highlights", "<"), ("light", "shadows", ">"),
        ("blurry", "sharpness", "<"), ("low-information", "stddev", "<"),
    ]
    for issue, key, direction in rules:
        values = sorted((statistics[p][key], issue in labels) for p, labels in items
                        if (not labels or issue in labels) and key in statistics[p])
        cuts = sorted({v for v, _ in values})
        bounds = [cuts[0] - 1] + [(a + b) / 2 for a, b in zip(cuts, cuts[1:])] + [cuts[-1] + 1]

        def correct(t):
            return sum((v < t if direction == "<" else v > t) == planted for v, planted in values)

        scores = [correct(t) for t in bounds]
        best = max(scores)
        t = bounds[scores.index(best)]
        planted = [v for v, p in values if p]
        clean = [v for v, p in values if not p]
        edge = (max(planted), min(clean)) if direction == "<" else (min(planted), max(clean))
        print("  %-16s %-10s %s %-8.4g %d of %d correct; planted %s %.4g, clean %s %.4g"
              % (issue, key, direction, t, best, len(values), "max" if direction == "<" else "min",
                 edge[0], "min" if direction == "<" else "max", edge[1]))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--build", default="_build")
    parser.add_argument("--cleanvision", default="/tmp/cv/bin/python")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--calibrate", action="store_true")
    parser.add_argument("--errors", action="store_true", help="list the files each tool got wrong")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="kiln-inspect-peer-") as folder:
        items = generate(folder, args.seed)
        paths = [p for p, _ in items]
        for p in paths:
            open(p, "rb").read()
        kiln, kiln_seconds, statistics = run_kiln(args.build, paths)
        if args.calibrate:
            print("calibration on seed %d (%d images):" % (args.seed, len(items)))
            calibrate(items, statistics)
            return 0
        peer = None
        if os.path.exists(args.cleanvision):
            peer, peer_seconds, peer_wall = run_cleanvision(args.cleanvision, paths, folder)
        print("%d images (%s), seed %d, one core each" % (
            len(items), ", ".join("%d %s" % (sum(i in l for _, l in items), i) for i in ISSUES), args.seed))
        print("  kiln-cli inspect: %.2f s (%.0f images/s, whole process)" % (kiln_seconds, len(items) / kiln_seconds))
        if peer is not None:
            print("  cleanvision:      %.2f s in find_issues (%.0f images/s), %.2f s whole process; "
                  "kiln %.1fx faster" % (peer_seconds, len(items) / peer_seconds, peer_wall, peer_seconds / kiln_seconds))
        else:
            print("  cleanvision: not found at %s (python3 -m venv /tmp/cv && /tmp/cv/bin/pip install cleanvision)"
                  % args.cleanvision)
        print("  %-16s %-26s %s" % ("issue", "kiln precision/recall (n)", "cleanvision precision/recall (n)"))
        for issue in ISSUES:
            p, r, n = score(items, kiln, issue)
            row = "  %-16s %5.2f / %5.2f (%3d)        " % (issue, p, r, n)
            if peer is not None:
                p, r, n = score(items, peer, issue)
                row += "%5.2f / %5.2f (%3d)" % (p, r, n)
            print(row)
        if args.errors:
            for name, found in (("kiln", kiln), ("cleanvision", peer)):
                for issue in ISSUES if found is not None else []:
                    wrong = sorted(os.path.basename(p) + ("(missed)" if issue in labels else "(false)")
                                   for p, labels in items if (issue in labels) != (issue in found.get(p, set())))
                    if wrong:
                        print("  %s %s wrong: %s" % (name, issue, " ".join(wrong[:12])))
    return 0


if __name__ == "__main__":
    sys.exit(main())
