#!/usr/bin/python3
"""compare_ref.py - an independent reference for `umpire compare` (paired bootstrap of metric
differences), written from the definition, not from umpire's C:

  make DIR        write two scored files A.jsonl, B.jsonl: overlapping ids, some unlabelled,
                  some null scores, labels that differ between the runs
  check DIR MODE OUT.json SEED BOOT   recompute what `umpire compare` wrote in OUT.json
                  (MODE two: A vs B per estimator; one: A's estimators x and y)

The bootstrap: splitmix64 seeded with SEED ^ 0x5bd1e995 (umpire's documented generator), index
i of each resample = next() below m by rejection (limit = 2^64 - 2^64 mod m); the same indices
for both sides, the items in id order; AUROC = Mann-Whitney U / (n+ n-) with ties one half; the interval = numpy's
linear percentiles of the finite differences, none when most are undefined. Accuracy: the same
generator, over every item labelled in both."""
import json
import math
import sys

import numpy as np

M64 = (1 << 64) - 1


class SplitMix:
    def __init__(self, seed):
        self.s = seed & M64

    def next(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & M64
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        return z ^ (z >> 31)

    def below(self, n):
        limit = M64 - M64 % n
        while True:
            x = self.next()
            if x < limit:
                return x % n


def auroc(s, w):
    s, w = np.asarray(s, float), np.asarray(w, int)
    pos, neg = s[w == 1], s[w == 0]
    if len(pos) == 0 or len(neg) == 0 or np.all(s == s[0]):
        return math.nan
    gt = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return gt / (len(pos) * len(neg))


def interval(vals, ci=0.95):
    v = np.array([x for x in vals if math.isfinite(x)])
    if 2 * len(v) < len(vals):
        return [math.nan, math.nan]
    return [float(np.percentile(v, 100 * (1 - ci) / 2)), float(np.percentile(v, 100 * (1 - (1 - ci) / 2)))]


def make(d):
    rng = np.random.default_rng(5)
    ids = [f"q{i}" for i in range(90)]
    a_ids, b_ids = ids[:80], ids[10:]  # 70 shared ids; B in another order
    b_ids = list(reversed(b_ids))
    truth = rng.random(90)  # how hard each question is

    def write(path, idlist, noise, flip, extra):
        with open(path, "w") as f:
            for k, qid in enumerate(idlist):
                i = int(qid[1:])
                wrong = int(truth[i] + rng.normal(0, flip) > 0.55)
                x = truth[i] + rng.normal(0, noise)
                y = truth[i] + rng.normal(0, 2 * noise)
                scores = {"x": x, "y": y if i % 13 else None}
                if extra:
                    scores[extra] = float(k % 3)
                rec = {"id": qid, "scores": scores}
                if i % 17:
                    rec["correct"] = not wrong
                f.write(json.dumps(rec) + "\n")

    write(f"{d}/A.jsonl", a_ids, 0.15, 0.05, "only_in_a")
    write(f"{d}/B.jsonl", b_ids, 0.30, 0.10, "only_in_b")


def load(path):
    return [json.loads(line) for line in open(path)]


def check(d, mode, out_path, seed, boot):
    out = json.load(open(out_path))
    A = load(f"{d}/A.jsonl")
    B = {r["id"]: r for r in load(f"{d}/B.jsonl")} if mode == "two" else {r["id"]: r for r in A}
    pairs = [(r, B[r["id"]]) for r in A if "correct" in r and r["id"] in B and "correct" in B[r["id"]]]
    pairs.sort(key=lambda p: p[0]["id"].encode())  # in id order (byte-wise, as strcmp)
    bad = 0

    def close(name, got, want):
        nonlocal bad
        same = (math.isnan(want) and got is None) or (got is not None and abs(got - want) <= 1e-12)
        if not same:
            bad += 1
            print(f"MISMATCH {name}: umpire {got}, reference {want}")

    # accuracy over every item labelled in both
    wa = [0 if p[0]["correct"] else 1 for p in pairs]
    wb = [0 if p[1]["correct"] else 1 for p in pairs]
    n = len(pairs)
    if out["n"] != n:
        bad += 1
        print(f"MISMATCH n: umpire {out['n']}, reference {n}")
    rng = SplitMix(seed ^ 0x5BD1E995)
    diffs = []
    for _ in range(boot):
        idx = [rng.below(n) for _ in range(n)]
        diffs.append((sum(wa[j] for j in idx) - sum(wb[j] for j in idx)) / n)
    close("accuracy.a", out["accuracy"]["a"], 1 - sum(wa) / n)
    close("accuracy.b", out["accuracy"]["b"], 1 - sum(wb) / n)
    lo, hi = interval(diffs)
    close("accuracy.diff_ci[0]", out["accuracy"]["diff_ci"][0], lo)
    close("accuracy.diff_ci[1]", out["accuracy"]["diff_ci"][1], hi)

    names = [("x", "x"), ("y", "y")] if mode == "two" else [("x", "y")]
    got = {(c["estimator_a"], c["estimator_b"]): c for c in out["comparisons"]}
    if sorted(got) != sorted(names):
        bad += 1
        print(f"MISMATCH comparisons: umpire {sorted(got)}, reference {sorted(names)}")
    for ea, eb in names:
        c = got.get((ea, eb))
        if c is None:
            continue
        keep = [k for k, p in enumerate(pairs) if p[0]["scores"][ea] is not None and p[1]["scores"][eb] is not None]
        sa = [pairs[k][0]["scores"][ea] for k in keep]
        sb = [pairs[k][1]["scores"][eb] for k in keep]
        ka = [wa[k] for k in keep]
        kb = [wb[k] for k in keep]
        m = len(keep)
        if c["n"] != m:
            bad += 1
            print(f"MISMATCH {ea}/{eb} n: umpire {c['n']}, reference {m}")
        va, vb = auroc(sa, ka), auroc(sb, kb)
        close(f"{ea}/{eb} a.auroc", c["a"]["auroc"], va)
        close(f"{ea}/{eb} b.auroc", c["b"]["auroc"], vb)
        close(f"{ea}/{eb} diff.auroc", c["diff"]["auroc"], vb - va)
        rng = SplitMix(seed ^ 0x5BD1E995)
        da, db, dd = [], [], []
        for _ in range(boot):
            idx = [rng.below(m) for _ in range(m)]
            x = auroc([sa[j] for j in idx], [ka[j] for j in idx])
            y = auroc([sb[j] for j in idx], [kb[j] for j in idx])
            da.append(x)
            db.append(y)
            dd.append(y - x)
        for side, vals in (("a", da), ("b", db), ("diff", dd)):
            lo, hi = interval(vals)
            close(f"{ea}/{eb} {side}.auroc_ci[0]", c[side]["auroc_ci"][0], lo)
            close(f"{ea}/{eb} {side}.auroc_ci[1]", c[side]["auroc_ci"][1], hi)
    print(f"compare_ref: {mode}: {n} items labelled in both, {len(names)} comparisons, {boot} resamples: "
          f"{bad} mismatches")
    return bad


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    else:
        sys.exit(1 if check(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])) else 0)
