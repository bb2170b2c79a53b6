#!/usr/bin/python3
"""Write data/synsets.tsv.gz: the WordNet 3.0 noun hierarchy joined with the
ImageNet-21k and ILSVRC-2012 synset lists, so Kiln needs no WordNet at run time.

Usage: data/gen-synsets.py [DATA_NOUN] [OUTPUT]
  DATA_NOUN defaults to /usr/share/wordnet/data.noun (Debian's wordnet-base).

Output (gzip, deterministic), after a '#' header line, one synset per line:
  wnid  flags  parents  subtree  subtree_21k  subtree_1k  words  gloss
flags: '1' in ILSVRC-2012, '2' in ImageNet-21k (both: '12', neither: '-');
parents: comma-separated parent wnids ('@' hypernyms and '@i' instance
hypernyms), '-' for the root; subtree*: distinct descendants including the
synset itself (all / in 21k / in 1k); words: '|'-separated lemmas with
underscores as spaces; gloss: the definition. Children are the inverse of
parents (checked against WordNet's '~'/'~i' pointers below).
"""

import gzip
import io
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def read_wnids(path):
    with open(path, encoding="ascii") as f:
        return {line.strip() for line in f if line.strip()}


def parse_data_noun(path):
    synsets = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.startswith("  "):
                continue  # licence header
            body, _, gloss = line.partition(" | ")
            fields = body.split()
            offset = fields[0]
            if fields[2] != "n":
                raise SystemExit(f"{path}: synset {offset} has type {fields[2]}, expected n")
            w_cnt = int(fields[3], 16)
            words = [fields[4 + 2 * i].replace("_", " ") for i in range(w_cnt)]
            pos = 4 + 2 * w_cnt
            p_cnt = int(fields[pos])
            parents, children = [], []
            for i in range(p_cnt):
                sym, target, tpos, _ = fields[pos + 1 + 4 * i: pos + 5 + 4 * i]
                if tpos != "n":
                    continue
                if sym in ("@", "@i"):
                    parents.append("n" + target)
                elif sym in ("~", "~i"):
                    children.append("n" + target)
            for w in words:
                if "\t" in w or "|" in w:
                    raise SystemExit(f"{path}: synset {offset} has a word with a separator: {w!r}")
            synsets["n" + offset] = {
                "words": words,
                "gloss": " ".join(gloss.split()),
                "parents": parents,
                "children": children,
            }
    return synsets


def main():
    data_noun = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/wordnet/data.noun"
    output = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "synsets.tsv.gz")
    in_1k = read_wnids(os.path.join(HERE, "imagenet", "ilsvrc2012-wnids.txt"))
    in_21k = read_wnids(os.path.join(HERE, "imagenet", "imagenet21k-wnids.txt"))
    synsets = parse_data_noun(data_noun)

    # The hierarchy must be consistent: hyponym pointers mirror hypernym ones.
    derived = {wnid: set() for wnid in synsets}
    for wnid, s in synsets.items():
        for p in s["parents"]:
            derived[p].add(wnid)
    for wnid, s in synsets.items():
        if set(s["children"]) != derived[wnid]:
            raise SystemExit(f"{wnid}: hyponym pointers do not mirror hypernym pointers")
    missing = (in_1k | in_21k) - synsets.keys()
    if missing:
        raise SystemExit(f"ImageNet wnids not in WordNet 3.0 nouns: {sorted(missing)[:5]}")

    # Distinct descendants (a synset may have two parents, so count each once).
    order = sorted(synsets)
    closure = {}

    def descendants(wnid):
        if wnid in closure:
            return closure[wnid]
        stack, seen = [wnid], {wnid}
        while stack:
            for c in derived[stack.pop()]:
                if c not in seen:
                    seen.add(c)
                    stack.append(c)
        return seen

    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(b"# kiln synsets 1: WordNet 3.0 nouns, ImageNet-21k and ILSVRC-2012 membership\n")
        for wnid in order:
            s = synsets[wnid]
            d = descendants(wnid)
            flags = ("1" if wnid in in_1k else "") + ("2" if wnid in in_21k else "")
            row = [
                wnid,
                flags or "-",
                ",".join(s["parents"]) or "-",
                str(len(d)),
                str(len(d & in_21k)),
                str(len(d & in_1k)),
                "|".join(s["words"]),
                s["gloss"],
            ]
            gz.write(("\t".join(row) + "\n").encode("utf-8"))
    tmp = output + ".tmp"
    with open(tmp, "wb") as f:
        f.write(buf.getvalue())
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, output)
    print(f"{output}: {len(synsets)} synsets, {len(in_21k)} in 21k, {len(in_1k)} in 1k, "
          f"{len(buf.getvalue())} bytes")


if __name__ == "__main__":
    main()
