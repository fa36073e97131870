#!/usr/bin/python3
"""Independent numpy reference for `umpire score` (run with Debian's /usr/bin/python3).

  scores_ref.py make OUT_DIR     write OUT_DIR/samples.jsonl, a seeded synthetic sample set, and
                                 OUT_DIR/constant.jsonl (every item alike: every metric undefined)
  scores_ref.py npy OUT_DIR      the same items, samples reversed, embeddings in OUT_DIR/emb.npy
  scores_ref.py check OUT_DIR    compare OUT_DIR/scored.jsonl and summary.json (umpire's splits),
                                 summary-ref.json (--reference-splits) and summary-const.json,
                                 all written by `umpire score`, with values computed here

Nothing here shares code with umpire. Each definition is written from the reference code it is
named after, in numpy: UMPIRE's pipeline (modules/eval_utils.py, logdet_utils.py,
compute_umpire_and_evaluate.py: pandas' df.sample(random_state=10) is RandomState(10).permutation),
uncertainty_metrics' ECE, sklearn's roc_curve and MinMaxScaler, INSIDE's getEigenIndicator_v0,
the semantic-entropy code's get_semantic_ids / logsumexp_by_id / predictive_entropy_rao,
rouge_score's tokenizer; umpire's own variants from their documented formulas. AUROC comes from
pairwise comparisons, eigenvalues from numpy.linalg, so a wrong implementation on either side shows.
"""
import json, math, re, sys
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
        centre, mcentre = rng.normal(size=D), rng.normal(size=D)
        samples = []
        for j in range(K):
            e = centre + spread * rng.normal(size=D)
            m = mcentre + spread * rng.normal(size=D)
            n_tok = int(rng.integers(1, 5))
            raw = -rng.exponential(0.5 if wrong else 0.3, size=n_tok)
            lp = np.minimum(raw + rng.exponential(0.1, size=n_tok), 0)  # the sampler: more likely
            ent = rng.exponential(1.0, size=n_tok)
            pick = rng.integers(0, len(WORDS), size=int(rng.integers(1, 4))) if noisy or j == 0 else None
            text = " ".join(WORDS[w] for w in pick) if pick is not None else samples[0]["text"]
            samples.append({"text": text, "logprobs": lp.round(6).tolist(), "raw_logprobs": raw.round(6).tolist(),
                            "embedding": e.round(6).tolist(), "middle": m.round(6).tolist(),
                            "entropies": ent.round(6).tolist(), "raw_entropies": (ent + 0.5).round(6).tolist()})
        g_raw = -rng.exponential(0.6 if wrong else 0.3, size=2)
        # entailment judged by a model: answers with the same text entail each other (as the engine
        # sets them); others noisy and asymmetric, often past the threshold
        ent_m = [[1.0 if samples[a]["text"] == samples[b]["text"] else
                  round(float(np.clip(0.45 + rng.normal(0, 0.3), 0, 1)), 4) for b in range(K)] for a in range(K)]
        item = {"id": f"q{i}", "probs": "sampler", "middle_layer": 2, "samples": samples,
                "greedy": {"text": samples[0]["text"], "logprobs": [0.0, -1e-6], "raw_logprobs": g_raw.round(6).tolist()},
                "entailment": ent_m, "correct": not wrong}
        if i % 4 == 0:
            p = rng.dirichlet(np.ones(4))
            item["choice"] = {"letter": "ABCD"[int(p.argmax())], "confidence": round(float(p.max()), 6),
                              "p": [round(float(x), 6) for x in p]}
        if i == 7:  # a tie-rich item: identical samples
            for s in samples[1:]:
                s.update({k: samples[0][k] for k in samples[0]})
        lines.append(json.dumps(item))
    with open(f"{out}/samples.jsonl", "w") as f:
        f.write("\n".join(lines) + "\n")
    # every item alike but its label: every estimator constant, every metric undefined
    one = json.loads(lines[1])
    with open(f"{out}/constant.jsonl", "w") as f:
        for i in range(12):
            one["id"], one["correct"] = f"c{i}", i % 2 == 0
            f.write(json.dumps(one) + "\n")


def words(s):  # rouge_score's tokenizer, no stemmer
    return re.sub(r"[^a-z0-9]+", " ", s.lower()).split()


def rouge_l(a, b):
    a, b = words(a), words(b)
    if not a or not b:
        return 0.0
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


def semantic_ids_strict(e, t=0.5):
    """get_semantic_ids(strict_entailment=True): founders, later answers re-assigned"""
    ids, nxt = [-1] * len(e), 0
    for i in range(len(e)):
        if ids[i] == -1:
            ids[i] = nxt
            for j in range(i + 1, len(e)):
                if e[i][j] > t and e[j][i] > t:
                    ids[j] = nxt
            nxt += 1
    return ids


def se_rao(ids, llh):
    """logsumexp_by_id(agg='sum_normalized') then predictive_entropy_rao"""
    llh = np.array(llh)
    per = [np.log(np.sum(np.exp(llh[[i for i, x in enumerate(ids) if x == u]] - np.log(np.sum(np.exp(llh))))))
           for u in sorted(set(ids))]
    return float(-np.sum(np.exp(per) * per))


def eigen_score(x, jitter):
    c = np.cov(np.array(x))
    return float(np.mean(np.log10(np.linalg.svd(c + jitter * np.eye(len(x)), compute_uv=False))))


def probability_scores(s, g, suffix=""):
    sums = np.array([sum(x) for x in s["lp"]])
    lens = np.array([len(x) for x in s["lp"]])
    return {"predictive_entropy" + suffix: float(-sums.mean()), "ln_predictive_entropy" + suffix: float(-(sums / lens).mean()),
            "ln_entropy" + suffix: float(np.average([-np.sum(np.exp(x) * np.array(x)) / len(x) for x in s["lp"]])),
            "sequence_probability" + suffix: 1 - math.exp(sum(g)), "perplexity" + suffix: math.exp(-sum(g) / len(g)),
            "mean_token_entropy" + suffix: float(np.mean([np.mean(x) for x in s["ent"]]))}


def reference(item):
    s = item["samples"]
    e = np.array([x["embedding"] for x in s])
    phi = e / np.linalg.norm(e, axis=1, keepdims=True)
    u = np.linalg.slogdet(phi @ phi.T + EPS * np.eye(K))[1] / (2 * K)
    if not np.isfinite(u) or item["id"] == "q7":  # identical samples: exact eigenvalues
        u = (math.log(K + EPS) + (K - 1) * math.log(EPS)) / (2 * K)
    sums = np.array([sum(x["logprobs"]) for x in s])
    out = {"semantic_volume": u, "incoherence": float(np.mean(1 - np.exp(sums)))}
    out.update(probability_scores({"lp": [x["logprobs"] for x in s], "ent": [x["entropies"] for x in s]},
                                  item["greedy"]["logprobs"]))
    out.update(probability_scores({"lp": [x["raw_logprobs"] for x in s], "ent": [x["raw_entropies"] for x in s]},
                                  item["greedy"]["raw_logprobs"], "_raw"))
    del out["mean_token_entropy"], out["mean_token_entropy_raw"]  # the greedy answer carries none here
    out["mean_token_entropy"] = float(np.mean([np.mean(x["entropies"]) for x in s]))
    out["mean_token_entropy_raw"] = float(np.mean([np.mean(x["raw_entropies"]) for x in s]))
    out["eigenscore"] = eigen_score([x["middle"] for x in s], 1e-3)  # INSIDE, middle layer
    out["eigenscore_umpire"] = eigen_score(phi, 1e-8)                # UMPIRE's baseline
    pairs = [rouge_l(s[i]["text"], s[j]["text"]) for i in range(K) for j in range(i + 1, K)]
    out["lexical_similarity"] = 1 - float(np.mean(pairs))
    cos = np.clip(phi @ phi.T, 0, 1)
    np.fill_diagonal(cos, 1)
    lex = np.array([[1.0 if i == j else rouge_l(s[i]["text"], s[j]["text"]) for j in range(K)] for i in range(K)])
    E = np.array(item["entailment"])
    nli = (E + E.T) / 2
    for suffix, w in (("cos", cos), ("lex", lex), ("nli", nli)):
        for name, v in graph(w).items():
            out[f"{name}_{suffix}"] = v
    # semantic entropy: the reference's strict clusters and Rao entropy (every sample, duplicates
    # too); umpire's weighted variant: symmetrised clusters, each distinct answer once
    out["semantic_entropy_strict_nli"] = se_rao(semantic_ids_strict(E), sums)
    ids, seen, mass = clusters(nli), set(), {}
    for i, x in enumerate(s):
        key = (x["text"], len(x["logprobs"]))
        if key not in seen:
            seen.add(key)
            mass[ids[i]] = mass.get(ids[i], 0) + math.exp(sums[i])
    p = np.array(list(mass.values())) / sum(mass.values())
    out["semantic_entropy_weighted_nli"] = float(-(p * np.log(p)).sum())
    if "choice" in item:
        out["choice_confidence"] = 1 - item["choice"]["confidence"]
    return out


# ---------------------------------------------------------------- metrics
def auroc(score, wrong):
    pos = [s for s, w in zip(score, wrong) if w]
    neg = [s for s, w in zip(score, wrong) if not w]
    return sum((p > q) + 0.5 * (p == q) for p in pos for q in neg) / (len(pos) * len(neg))


def cpc(score, wrong):
    """compute_pearsonr: linspace(min, max, 51), only the first lower edge moved"""
    s, right = np.array(score), ~np.array(wrong)
    b = np.linspace(s.min(), s.max(), 51)
    lowers, uppers = b[:-1].copy(), b[1:]
    lowers[0] = s.min() - 1e-5
    xs, ys = [], []
    for lo, hi in zip(lowers, uppers):
        idx = np.where((s > lo) & (s <= hi))[0]
        if len(idx):
            xs.append(lo)
            ys.append(1 - np.sum(right[idx] == 1) / len(idx))
    return float(np.corrcoef(xs, ys)[0, 1])


def roc_curve(wrong, score):
    """sklearn's roc_curve(drop_intermediate=True), from its algorithm"""
    y, s = np.array(wrong, dtype=float), np.array(score)
    desc = np.argsort(s, kind="mergesort")[::-1]
    s, y = s[desc], y[desc]
    thr = np.r_[np.where(np.diff(s))[0], y.size - 1]
    tps = np.cumsum(y)[thr]
    fps = 1 + thr - tps
    if len(fps) > 2:
        keep = np.where(np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True])[0]
        fps, tps = fps[keep], tps[keep]
    tps, fps = np.r_[0, tps], np.r_[0, fps]
    return fps / fps[-1], tps / tps[-1]


def tpr_at_fpr(score, wrong, t):
    fpr, tpr = roc_curve(wrong, score)
    return float(tpr[np.abs(fpr - t).argmin()])


def aurac(score, wrong):
    """compute_aurac_from_image_df: most uncertain first (stable), trapezoids"""
    n = len(score)
    order = sorted(range(n), key=lambda i: -score[i])
    right = [0 if wrong[i] else 1 for i in order]
    acc = [sum(right[i:]) / (n - i) for i in range(n)]
    x = [((i + 1) / n * 100) / 100 for i in range(n)]
    return float(sum((x[i + 1] - x[i]) * (acc[i] + acc[i + 1]) / 2 for i in range(n - 1)))


def rejection_expected(score, wrong):
    """umpire's aurac_expected and PRR: tie groups rejected in expectation"""
    n, w = len(score), sum(wrong)
    groups = {}
    for s_, wr in zip(score, wrong):
        groups.setdefault(s_, []).append(wr)
    removed, rem = 0.0, []
    for s_ in sorted(groups, reverse=True):
        g = groups[s_]
        for r in range(len(g)):
            rem.append(removed + r * sum(g) / len(g))
        removed += sum(g)
    curve = lambda rm: sum((n - j - (w - rm[j])) / (n - j) for j in range(n)) / n
    a, oracle, rnd = curve(rem), curve([min(j, w) for j in range(n)]), 1 - w / n
    return a, (a - rnd) / (oracle - rnd)


def average_precision(score, wrong):
    pos, ap, prev, tp, fp = sum(wrong), 0.0, 0.0, 0, 0
    for s_ in sorted(set(score), reverse=True):
        for x, w in zip(score, wrong):
            if x == s_:
                tp, fp = tp + w, fp + (not w)
        ap += (tp / pos - prev) * tp / (tp + fp)
        prev = tp / pos
    return ap


def uncertainty_metrics_ece(labels, probs, num_bins):
    """uncertainty_metrics.numpy.ece: binary probs -> top label, even bins, np.digitize"""
    probs = np.array([[1 - p, p] for p in probs])
    labels_matrix = np.eye(2)[np.array(labels, dtype=int)]
    top = np.argmax(probs, axis=1)
    hit, conf = labels_matrix[range(len(probs)), top], probs[range(len(probs)), top]
    upper = np.histogram_bin_edges([], bins=num_bins, range=(0.0, 1.0))[1:]
    idx = np.digitize(conf, upper)
    counts = np.bincount(idx, minlength=num_bins) + np.finfo(np.float64).eps
    err = np.bincount(idx, weights=hit, minlength=num_bins) / counts - np.bincount(idx, weights=conf, minlength=num_bins) / counts
    return float(np.sum(np.abs(err * counts / len(conf))))


def cece(score, wrong, cal_ids_idx, bins=50):
    """get_calibrate_ece(model_type='minmax', is_uncertainty=True) on a given calibration split"""
    cal = set(cal_ids_idx)
    dev = np.array([score[i] for i in sorted(cal)])
    rng = dev.max() - dev.min()
    scale = 1.0 / rng if rng != 0 else 1.0  # MinMaxScaler: a zero range scales by 1
    test = [i for i in range(len(score)) if i not in cal]
    x = np.array([score[i] for i in test]) * scale + (0 - dev.min() * scale)
    return uncertainty_metrics_ece([0 if wrong[i] else 1 for i in test], 1 - x, bins)


def minmax_metrics(score, wrong):
    s, w = np.array(score), np.array(wrong, dtype=float)
    p = (s - s.min()) / (s.max() - s.min())
    ece = sum(abs(p[m].sum() - w[m].sum()) for b in range(10) if (m := np.minimum((p * 10).astype(int), 9) == b).any()) / len(p)
    order = sorted(range(len(p)), key=lambda i: -p[i])
    ece_mass = sum(abs(sum(p[order[i]] - w[order[i]] for i in range(b * len(p) // 10, (b + 1) * len(p) // 10)))
                   for b in range(10)) / len(p)
    q = np.clip(p, 1e-7, 1 - 1e-7)
    return {"ece": ece, "ece_mass": ece_mass, "brier": float(np.mean((p - w) ** 2)),
            "nll": float(-np.mean(w * np.log(q) + (1 - w) * np.log(1 - q)))}


def close(a, b, tol):
    return a is not None and b is not None and abs(a - b) <= tol * max(1.0, abs(b))


def check(out):
    items = [json.loads(l) for l in open(f"{out}/samples.jsonl")]
    ids = [it["id"] for it in items]
    scored = {o["id"]: o for o in map(json.loads, open(f"{out}/scored.jsonl"))}
    summary = json.load(open(f"{out}/summary.json"))
    refs = [reference(it) for it in items]
    failures = []
    wrong = [not it["correct"] for it in items]

    def check_alpha(summ, expect_ids, what):
        dev = [ids.index(i) for i in summ["alpha_dev_ids"]]
        if expect_ids is not None and dev != expect_ids:
            failures.append(f"{what} alpha_dev_ids {dev}, expected {expect_ids}")
        a = abs(np.median([refs[i]["semantic_volume"] for i in dev]) / np.median([refs[i]["incoherence"] for i in dev]))
        if not math.isclose(summ["alpha"], a, rel_tol=1e-6):
            failures.append(f"{what} alpha: umpire {summ['alpha']} reference {a}")
        return a

    # umpire's split: alpha recomputed from the dev ids umpire reports
    if len(summary["alpha_dev_ids"]) != round(0.1 * N):
        failures.append(f"alpha_dev_ids: {len(summary['alpha_dev_ids'])} ids, expected {round(0.1 * N)}")
    alpha = check_alpha(summary, None, "umpire split")
    n_checked = 0
    for it, ref in zip(items, refs):
        ref["umpire"] = ref["semantic_volume"] + alpha * ref["incoherence"]
        got = scored[it["id"]]["scores"]
        for name, want in ref.items():
            n_checked += 1
            if not close(got.get(name), want, 1e-6):
                failures.append(f"{it['id']}.{name}: umpire {got.get(name)} reference {want}")
        if ("choice" not in it) != (got["choice_confidence"] is None):
            failures.append(f"{it['id']}.choice_confidence: defined without a choice, or the reverse")
    # the strict clustering's quirk is exercised: a later founder takes an answer an earlier took
    def no_overwrite(e, t=0.5):
        ids, nxt = [-1] * len(e), 0
        for i in range(len(e)):
            if ids[i] == -1:
                ids[i] = nxt
                for j in range(i + 1, len(e)):
                    if ids[j] == -1 and e[i][j] > t and e[j][i] > t:
                        ids[j] = nxt
                nxt += 1
        return ids
    if not any(semantic_ids_strict(it["entailment"]) != no_overwrite(it["entailment"]) for it in items):
        failures.append("no item exercises the strict clustering's re-assignment")
    d = scored["q0"].get("def", {})
    if d.get("probs") != "sampler" or not math.isclose(d.get("alpha", 0), alpha, rel_tol=1e-6):
        failures.append(f"scored.jsonl def: {d}")

    def check_metrics(summ, scores_of, cal_idx, names, what):
        """the metrics of umpire's own scores (checked above), so that ties and rounding are the same"""
        for name in names:
            score = [scores_of[i]["scores"][name] for i in ids]
            m = summ["metrics"][name]
            a_exp, prr = rejection_expected(score, wrong)
            want = {"auroc": auroc(score, wrong), "cpc": cpc(score, wrong), "aurac": aurac(score, wrong),
                    "aurac_expected": a_exp, "prr": prr, "auprc": average_precision(score, wrong),
                    "tpr_at_fpr10": tpr_at_fpr(score, wrong, 0.1), "tpr_at_fpr1": tpr_at_fpr(score, wrong, 0.01),
                    "cece": cece(score, wrong, cal_idx)}
            want.update(minmax_metrics(score, wrong))
            for metric, v in want.items():
                if not close(m[metric], v, 1e-9):
                    failures.append(f"{what} metrics.{name}.{metric}: umpire {m[metric]} reference {v}")
            lo, hi = m["auroc_ci"]
            if lo is not None and not lo <= m["auroc"] <= hi:
                failures.append(f"{what} metrics.{name}.auroc_ci [{lo}, {hi}] does not contain {m['auroc']}")

    names = ("umpire", "predictive_entropy", "degree_lex", "ln_entropy", "eigenscore", "eigenscore_umpire",
             "semantic_entropy_strict_nli", "sequence_probability_raw")
    cal = [ids.index(i) for i in summary["cece_split_ids"]]
    if len(cal) != round(0.05 * N):
        failures.append(f"cece_split_ids: {len(cal)} ids")
    check_metrics(summary, scored, cal, names, "umpire split:")
    if abs(summary["accuracy"] - (1 - np.mean(wrong))) > 1e-12:
        failures.append("accuracy")

    # --reference-splits: the reference's own permutation (pandas' sample, seed 10), both splits
    ref_summary = json.load(open(f"{out}/summary-ref.json"))
    perm = np.random.RandomState(10).permutation(N)
    check_alpha(ref_summary, sorted(perm[:int(N * 0.1)].tolist()), "reference split")
    ref_cal = sorted(perm[:int(N * 0.05)].tolist())
    if [ids.index(i) for i in ref_summary["cece_split_ids"]] != ref_cal:
        failures.append(f"reference cece_split_ids {ref_summary['cece_split_ids']}, expected {ref_cal}")
    scored_ref = {o["id"]: o for o in map(json.loads, open(f"{out}/scored-ref.jsonl"))}
    for it, r in zip(items, refs):  # V with the reference split's alpha
        want = r["semantic_volume"] + ref_summary["alpha"] * r["incoherence"]
        if not close(scored_ref[it["id"]]["scores"]["umpire"], want, 1e-6):
            failures.append(f"reference split: {it['id']}.umpire {scored_ref[it['id']]['scores']['umpire']} reference {want}")
    check_metrics(ref_summary, scored_ref, ref_cal, ("umpire", "ln_entropy", "eigenscore_umpire"), "reference split:")

    # a constant score: every metric undefined (null), never a number
    const = json.load(open(f"{out}/summary-const.json"))
    defined = [(e, k) for e, m in const["metrics"].items() for k, v in m.items() if not k.endswith("_ci") and k != "n"
               and v is not None]
    if defined or not const["metrics"]:
        failures.append(f"constant scores: defined metrics {defined[:5]}")

    for f in failures[:30]:
        print("MISMATCH", f)
    print(f"checked {n_checked} scores, alpha, 15 metrics, both splits, constant scores: {len(failures)} mismatches")
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
        item["entailment"] = [row[::-1] for row in item["entailment"][::-1]]
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
