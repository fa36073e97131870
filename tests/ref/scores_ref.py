#!/usr/bin/python3
"""Independent numpy reference for `umpire score` (run with Debian's /usr/bin/python3).

  scores_ref.py make OUT_DIR     write OUT_DIR/samples.jsonl, a seeded synthetic sample set
  scores_ref.py npy OUT_DIR      the same items, samples reversed, embeddings in OUT_DIR/emb.npy
  scores_ref.py check OUT_DIR    compare OUT_DIR/scored.jsonl and summary.json (written by
                                 `umpire score`) with values computed here from the formulas

Nothing here shares code with umpire: eigenvalues come from numpy.linalg, AUROC from pairwise
comparisons, ROUGE-L from a plain LCS, so a wrong implementation on either side shows.
"""
import json, math, sys
import numpy as np

K, D, N = 5, 24, 60
EPS = 1e-8
WORDS = ["paris", "london", "rome", "berlin", "madrid", "oslo", "the", "city", "of", "capital"]


def make(out):
    rng = np.random.default_rng(20261122)
    lines = []
    for i in range(N):
        wrong = i % 3 == 0
        # overlapping classes, so that the metrics land strictly between 0 and 1
        spread = rng.uniform(0.2, 1.0) + (0.4 if wrong else 0.0)
        noisy = rng.random() < 0.4
        centre = rng.normal(size=D)
        samples = []
        for j in range(K):
            e = centre + spread * rng.normal(size=D)
            n_tok = int(rng.integers(1, 5))
            lp = -rng.exponential(0.5 if wrong else 0.3, size=n_tok)
            ent = rng.exponential(1.0, size=n_tok)
            pick = rng.integers(0, len(WORDS), size=int(rng.integers(1, 4))) if noisy or j == 0 else None
            text = " ".join(WORDS[w] for w in pick) if pick is not None else samples[0]["text"]
            samples.append({"text": text, "logprobs": lp.round(6).tolist(),
                            "embedding": e.round(6).tolist(), "entropies": ent.round(6).tolist()})
        greedy_lp = -rng.exponential(0.6 if wrong else 0.3, size=2)
        item = {"id": f"q{i}", "samples": samples,
                "greedy": {"text": samples[0]["text"], "logprobs": greedy_lp.round(6).tolist()},
                "correct": not wrong}
        if i == 7:  # a tie-rich item: identical samples
            for s in samples[1:]:
                s.update({k: samples[0][k] for k in ("text", "logprobs", "embedding", "entropies")})
        lines.append(json.dumps(item))
    with open(f"{out}/samples.jsonl", "w") as f:
        f.write("\n".join(lines) + "\n")


def words(s):
    return "".join(c.lower() if c.isalnum() else " " for c in s).split()


def rouge_l(a, b):
    a, b = words(a), words(b)
    if not a or not b:
        return 1.0 if a == b else 0.0
    m = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a)):
        for j in range(len(b)):
            m[i + 1][j + 1] = m[i][j] + 1 if a[i] == b[j] else max(m[i][j + 1], m[i + 1][j])
    l = m[-1][-1]
    return 0.0 if l == 0 else 2 * (l / len(b)) * (l / len(a)) / (l / len(b) + l / len(a))


def clusters(w, t=0.5):
    """connected components of W > t, by repeated flooding"""
    ids = [-1] * len(w)
    n = 0
    for s in range(len(w)):
        if ids[s] >= 0:
            continue
        stack, ids[s] = [s], n
        while stack:
            i = stack.pop()
            for j in range(len(w)):
                if ids[j] < 0 and w[i][j] > t:
                    ids[j] = n
                    stack.append(j)
        n += 1
    return ids


def graph(w):
    k = len(w)
    deg = w.sum(1)
    lap = np.eye(k) - w / np.sqrt(np.outer(deg, deg))
    lam, vec = np.linalg.eigh(lap)
    r = max(1, int((lam < 0.9).sum()))
    v = vec[:, :r]
    ecc = np.linalg.norm(v - v.mean(0))
    mu = np.exp(-0.3 * np.linalg.eigvalsh(np.diag(deg) - w))
    mu /= mu.sum()
    ids = clusters(w)
    p = np.bincount(ids) / k
    return {"numsets": float(len(p)), "semantic_entropy": float(-(p * np.log(p)).sum()),
            "eigv": float(np.clip(1 - lam, 0, None).sum()), "degree": float(1 - w.mean()),
            "eccentricity": float(ecc), "kle": float(-(mu * np.log(mu)).sum())}


def reference(item):
    s = item["samples"]
    e = np.array([x["embedding"] for x in s])
    phi = e / np.linalg.norm(e, axis=1, keepdims=True)
    u = np.linalg.slogdet(phi @ phi.T + EPS * np.eye(K))[1] / (2 * K)
    if not np.isfinite(u) or item["id"] == "q7":  # identical samples: exact eigenvalues
        u = (math.log(K + EPS) + (K - 1) * math.log(EPS)) / (2 * K)
    sums = np.array([sum(x["logprobs"]) for x in s])
    lens = np.array([len(x["logprobs"]) for x in s])
    z = e - e.mean(1, keepdims=True)
    g = item["greedy"]["logprobs"]
    out = {"semantic_volume": u, "incoherence": float(np.mean(1 - np.exp(sums))),
           "predictive_entropy": float(-sums.mean()), "ln_predictive_entropy": float(-(sums / lens).mean()),
           "sequence_probability": 1 - math.exp(sum(g)), "perplexity": math.exp(-sum(g) / len(g)),
           "mean_token_entropy": float(np.mean([np.mean(x["entropies"]) for x in s])),
           "eigenscore": float(np.sum(np.log(np.linalg.eigvalsh(z @ z.T) + 1e-3)) / K)}
    pairs = [rouge_l(s[i]["text"], s[j]["text"]) for i in range(K) for j in range(i + 1, K)]
    out["lexical_similarity"] = 1 - float(np.mean(pairs))
    cos = np.clip(phi @ phi.T, 0, 1)
    np.fill_diagonal(cos, 1)
    lex = np.array([[1.0 if i == j else rouge_l(s[i]["text"], s[j]["text"]) for j in range(K)] for i in range(K)])
    for suffix, w in (("cos", cos), ("lex", lex)):
        for name, v in graph(w).items():
            out[f"{name}_{suffix}"] = v
    return out


def auroc(score, wrong):
    pos = [s for s, w in zip(score, wrong) if w]
    neg = [s for s, w in zip(score, wrong) if not w]
    return sum((p > q) + 0.5 * (p == q) for p in pos for q in neg) / (len(pos) * len(neg))


def cpc(score, wrong):
    lo, hi = min(score) - 1e-5, max(score)
    edges = np.linspace(lo, hi, 51)
    xs, ys = [], []
    for b in range(50):
        m = [(w) for s, w in zip(score, wrong) if edges[b] < s <= edges[b + 1] or (b == 0 and s <= edges[0])]
        if m:
            xs.append(edges[b])
            ys.append(np.mean(m))
    return float(np.corrcoef(xs, ys)[0, 1])


def ece(score, wrong):
    p = (np.array(score) - min(score)) / (max(score) - min(score))
    total = 0.0
    for b in range(10):
        m = (np.minimum((p * 10).astype(int), 9) == b)
        if m.any():
            total += m.sum() / len(p) * abs(p[m].mean() - np.array(wrong)[m].mean())
    return total


def check(out):
    items = [json.loads(l) for l in open(f"{out}/samples.jsonl")]
    scored = {o["id"]: o["scores"] for o in map(json.loads, open(f"{out}/scored.jsonl"))}
    summary = json.load(open(f"{out}/summary.json"))
    refs = [reference(it) for it in items]
    failures = []
    # alpha from the dev ids umpire reports, recomputed here
    dev = [int(i[1:]) for i in summary["alpha_dev_ids"]]
    if len(dev) != round(0.1 * N):
        failures.append(f"alpha_dev_ids: {len(dev)} ids, expected {round(0.1 * N)}")
    alpha = abs(np.median([refs[i]["semantic_volume"] for i in dev]) / np.median([refs[i]["incoherence"] for i in dev]))
    if not math.isclose(summary["alpha"], alpha, rel_tol=1e-6):
        failures.append(f"alpha: umpire {summary['alpha']} reference {alpha}")
    for it, ref in zip(items, refs):
        ref["umpire"] = ref["semantic_volume"] + alpha * ref["incoherence"]
        got = scored[it["id"]]
        for name, want in ref.items():
            tol = 1e-6 * max(1.0, abs(want))
            if got.get(name) is None or abs(got[name] - want) > tol:
                failures.append(f"{it['id']}.{name}: umpire {got.get(name)} reference {want}")
    wrong = [not it["correct"] for it in items]
    for name in ("umpire", "predictive_entropy", "degree_lex"):
        score = [r[name] for r in refs]
        m = summary["metrics"][name]
        for metric, want in (("auroc", auroc(score, wrong)), ("cpc", cpc(score, wrong)), ("ece", ece(score, wrong))):
            if abs(m[metric] - want) > 1e-9:
                failures.append(f"metrics.{name}.{metric}: umpire {m[metric]} reference {want}")
        lo, hi = m["auroc_ci"]
        if not lo <= m["auroc"] <= hi:
            failures.append(f"metrics.{name}.auroc_ci [{lo}, {hi}] does not contain {m['auroc']}")
    if abs(summary["accuracy"] - (1 - np.mean(wrong))) > 1e-12:
        failures.append("accuracy")
    for f in failures[:30]:
        print("MISMATCH", f)
    n_checked = sum(len(r) for r in refs)
    print(f"checked {n_checked} scores, alpha, 9 metrics: {len(failures)} mismatches")
    return 1 if failures else 0


def to_npy(out):
    """samples_npy.jsonl + emb.npy: the same items with embeddings moved to a float64 .npy file."""
    rows, lines = [], []
    for item in map(json.loads, open(f"{out}/samples.jsonl")):
        idx = []
        for smp in item["samples"]:
            idx.append(len(rows))
            rows.append(smp.pop("embedding"))
        item["embedding_npy"] = {"file": "emb.npy", "rows": idx[::-1]}  # rows in any order
        item["samples"] = item["samples"][::-1]
        lines.append(json.dumps(item))
    np.save(f"{out}/emb.npy", np.array(rows, dtype=np.float64))
    with open(f"{out}/samples_npy.jsonl", "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(sys.argv[2])
    elif sys.argv[1] == "npy":
        to_npy(sys.argv[2])
    else:
        sys.exit(check(sys.argv[2]))
