#!/usr/bin/env python3
"""phi_meaning.py RUN_DIR DATA.jsonl FACTS.jsonl: does phi carry the answer's meaning?

Every sampled answer of an `umpire eval` run (RUN_DIR/items.jsonl, with phi as "embedding")
that states exactly one value of its question's relation (DATA.jsonl gives each id's relation;
FACTS.jsonl the values) is paired with every other such answer of the same relation, across
questions. A pair has the same meaning when both state the same value, the same wording when
both read alike once the value is blanked out ("in Oslo", "in Lima": "in _"). Printed, and
written as JSON with --json: the mean cosine of the normalised phi over the pairs of each kind
(raw; and centred: the run's mean phi taken off first, since every answer shares a large
common direction),
and the AUROC of the cosine for telling same-meaning pairs from different-meaning ones (0.5: phi
knows nothing of the value; 1: every same-meaning pair is closer than every other pair), over
all pairs and within one wording (different values said alike: only the value tells them
apart)."""
import json
import math
import re
import sys


def words(text):
    return re.findall(r"[a-z0-9]+", text.lower())


def stated(text, values):
    """the values (of one relation) whose words appear in a row in the answer"""
    w = " " + " ".join(words(text)) + " "
    return [v for v in values if " " + " ".join(words(v)) + " " in w]


def auroc(pos, neg):
    """P(a positive scores above a negative), ties one half (Mann-Whitney via ranks)"""
    if not pos or not neg:
        return None
    allv = sorted([(x, 1) for x in pos] + [(x, 0) for x in neg])
    rank_sum, i = 0.0, 0
    while i < len(allv):
        j = i
        while j < len(allv) and allv[j][0] == allv[i][0]:
            j += 1
        mid = (i + j + 1) / 2  # ranks i+1 .. j, their mean
        rank_sum += mid * sum(1 for k in range(i, j) if allv[k][1])
        i = j
    n1, n0 = len(pos), len(neg)
    return (rank_sum - n1 * (n1 + 1) / 2) / (n1 * n0)


def main(argv):
    if len(argv) < 4:
        sys.exit(__doc__)
    run, data, facts = argv[1:4]
    relation = {json.loads(l)["id"]: json.loads(l)["relation"] for l in open(data)}
    values = {}
    for l in open(facts):
        f = json.loads(l)
        for r in ("city", "job", "pet", "instrument"):
            for k in (r, r + "_2"):
                if k in f:
                    values.setdefault(r, set()).add(f[k])
    answers = []  # (relation, value, wording, unit phi, item)
    for l in open(f"{run}/items.jsonl"):
        it = json.loads(l)
        r = relation.get(it["id"])
        if r is None:
            continue
        for s in it["samples"]:
            v = stated(s["text"], values[r])
            if len(v) != 1 or not s.get("embedding"):
                continue
            norm = math.sqrt(sum(x * x for x in s["embedding"]))
            wording = " ".join(words(s["text"].replace(v[0], "_")))
            answers.append((r, v[0], wording, [x / norm for x in s["embedding"]], it["id"]))
    if not answers:
        sys.exit(f"{run}/items.jsonl: no answer states a value")
    d = len(answers[0][3])
    centre = [sum(a[3][k] for a in answers) / len(answers) for k in range(d)]
    centred = []
    for a in answers:
        c = [x - m for x, m in zip(a[3], centre)]
        n = math.sqrt(sum(x * x for x in c)) or 1.0
        centred.append([x / n for x in c])
    same, diff, same_w, diff_w, same_c, diff_c = [], [], [], [], [], []
    for i in range(len(answers)):
        for j in range(i + 1, len(answers)):
            a, b = answers[i], answers[j]
            if a[0] != b[0] or a[4] == b[4]:
                continue
            c = sum(x * y for x, y in zip(a[3], b[3]))
            (same if a[1] == b[1] else diff).append(c)
            (same_c if a[1] == b[1] else diff_c).append(sum(x * y for x, y in zip(centred[i], centred[j])))
            if a[2] == b[2]:
                (same_w if a[1] == b[1] else diff_w).append(c)
    mean = lambda x: sum(x) / len(x) if x else None
    out = {"answers": len(answers), "pairs_same": len(same), "pairs_different": len(diff),
           "cos_same": mean(same), "cos_different": mean(diff),
           "cos_same_centred": mean(same_c), "cos_different_centred": mean(diff_c),
           "auroc": auroc(same, diff), "auroc_same_wording": auroc(same_w, diff_w)}
    if "--json" in argv:
        json.dump(out, open(argv[argv.index("--json") + 1], "w"), indent=1)
    f = lambda x: "-" if x is None else f"{x:.4f}"
    print(f"phi: {out['answers']} answers; mean cosine, same meaning {f(out['cos_same'])} ({len(same)} pairs), "
          f"different {f(out['cos_different'])} ({len(diff)}); centred {f(out['cos_same_centred'])} and "
          f"{f(out['cos_different_centred'])}; AUROC same vs different {f(out['auroc'])}, "
          f"within one wording {f(out['auroc_same_wording'])}")


if __name__ == "__main__":
    main(sys.argv)
