"""Python's results equal the CLI's on the same data: a sample set written from Python is scored,
evaluated and calibrated by the `umpire` program and by the package, and every number agrees
exactly (the CLI writes each double so that it reads back as the same double)."""
import json
import math

import numpy as np
import pytest

import umpire
from conftest import run, synthetic_items


def same(a, b):
    """A CLI number (None for undefined) equals a Python one (NaN for undefined), exactly."""
    return (a is None and math.isnan(b)) if a is None or math.isnan(b) else a == b


@pytest.fixture(scope="module")
def scored(cli, tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    items = synthetic_items(40)
    umpire.write_samples(d / "samples.jsonl", items)
    run(cli, "score", d / "samples.jsonl", "-o", d / "scored.jsonl", "--summary", d / "summary.json",
        "--seed", 3, "--bootstrap", 200, "-q")
    lines = [json.loads(x) for x in open(d / "scored.jsonl")]
    summary = json.load(open(d / "summary.json"))
    return d, items, lines, summary, umpire.score_set(items, seed=3)


def test_scores_alpha_and_split(scored):
    _, items, lines, summary, ss = scored
    assert [x["id"] for x in lines] == ss.ids == [it.id for it in items]
    assert ss.alpha == summary["alpha"] and ss.alpha > 0
    assert [ss.ids[i] for i in ss.dev_indices] == summary["alpha_dev_ids"]
    defined = {name for name in lines[0]["scores"] if any(x["scores"][name] is not None for x in lines)}
    assert set(ss.scores) == defined and len(defined) > 20
    bad = [(x["id"], name) for i, x in enumerate(lines) for name in ss.scores
           if not same(x["scores"][name], ss[name][i])]
    assert bad == []
    assert json.loads(json.dumps(lines[0]["def"])) == {
        "alpha": ss.definition.alpha, "eps": ss.definition.eps, "length_normalised": False,
        "probs": "unspecified", "cluster_threshold": 0.5, "kle_t": 0.3}


def test_metrics_equal_the_summary(scored):
    _, _, _, summary, ss = scored
    ours = ss.metrics(seed=3, bootstrap=200)
    assert set(ours) == set(summary["metrics"])
    bad = []
    for name, m in ours.items():
        theirs = summary["metrics"][name]
        assert theirs["n"] == m.n
        for metric, v in m.values.items():
            lo, hi = theirs[metric + "_ci"]
            if not (same(theirs[metric], v) and same(lo, m.ci[metric][0]) and same(hi, m.ci[metric][1])):
                bad.append((name, metric, theirs[metric], v))
    assert bad == []
    # the plain function on the column gives the same as the set's method
    wrong = np.array([not c for c in ss.correct])
    assert umpire.metrics(ss.umpire, wrong=wrong, seed=3, bootstrap=200).values == ours["umpire"].values


def test_metrics_table(cli, scored):
    """`umpire metrics` prints the table from the scored items: n, AUROC's interval and 9 metrics
    at 3 decimals, each the Python value printed the same way."""
    d, _, _, _, ss = scored
    out = run(cli, "metrics", d / "scored.jsonl", "--seed", 3, "--bootstrap", 200).stdout
    ours = ss.metrics(seed=3, bootstrap=200)
    cols = ["auroc", "auprc", "prr", "aurac", "tpr_at_fpr10", "cpc", "ece", "cece", "brier"]
    rows = {line.split()[0]: line for line in out.splitlines()[3:-1]}
    assert set(rows) == set(ours)

    def cell(v):
        return "%.3f" % v if math.isfinite(v) else "-"
    for name, m in ours.items():
        lo, hi = m.ci["auroc"]
        ci = "[%.3f, %.3f]" % (lo, hi) if math.isfinite(lo) else "-"
        want = [str(m.n), *ci.split()] + [cell(m.values[c]) for c in cols]
        assert rows[name].split()[2:] == want, name


def test_calibrate_fit_and_apply(cli, scored):
    d, _, _, _, ss = scored
    run(cli, "calibrate", "fit", d / "scored.jsonl", "--risk", 0.2, "--delta", 0.1, "-o", d / "cli-cal.json")
    cal = umpire.Calibration.fit(ss, risk=0.2, delta=0.1)
    cal.save(d / "py-cal.json")
    assert json.load(open(d / "py-cal.json")) == json.load(open(d / "cli-cal.json"))
    assert cal.threshold is not None and 0 < cal.n_answered < 40
    out = run(cli, "calibrate", "apply", d / "cli-cal.json", d / "scored.jsonl").stdout
    applied = [json.loads(x) for x in out.splitlines()]
    assert [a["p_error"] for a in applied] == list(cal.apply(ss.umpire))
    assert [a["verdict"] for a in applied] == list(cal.verdict(ss.umpire))
    # another estimator and map: the same file again
    run(cli, "calibrate", "fit", d / "scored.jsonl", "--estimator", "incoherence", "--method", "platt",
        "-o", d / "cli-platt.json")
    umpire.Calibration.fit(ss, estimator="incoherence", method="platt").save(d / "py-platt.json")
    assert json.load(open(d / "py-platt.json")) == json.load(open(d / "cli-platt.json"))
    # a file from the CLI loads and applies as the CLI applies it
    assert list(umpire.Calibration.load(d / "cli-cal.json").apply(ss.umpire)) == [a["p_error"] for a in applied]


def test_reference_splits(cli, scored):
    d, items, _, _, _ = scored
    run(cli, "score", d / "samples.jsonl", "--reference-splits", "--summary", d / "ref.json", "--bootstrap", 0, "-q")
    summary = json.load(open(d / "ref.json"))
    ss = umpire.score_set(items, reference_splits=True)
    assert ss.alpha == summary["alpha"] and [ss.ids[i] for i in ss.dev_indices] == summary["alpha_dev_ids"]
    m = ss.metrics(estimators=["umpire"], reference_splits=True, bootstrap=0)["umpire"]
    assert same(summary["metrics"]["umpire"]["cece"], m.cece) and same(summary["metrics"]["umpire"]["auroc"], m.auroc)


def test_one_question_with_a_given_alpha(cli, tmp_path):
    """score() on arrays equals `umpire score --alpha 1` on the item written from them."""
    rng = np.random.default_rng(8)
    emb = rng.normal(size=(5, 12))
    lp = rng.exponential(0.3, size=(5, 4)) * -1
    lengths = [4, 1, 2, 3, 4]
    s = umpire.score(emb, lp, lengths=lengths, texts=["a", "b", "a", "c d", "a"], estimators=True)
    it = umpire.Item.from_arrays(emb, lp, lengths=lengths, texts=["a", "b", "a", "c d", "a"], id="one")
    umpire.write_samples(tmp_path / "one.jsonl", [it, it])  # umpire score needs no more than one; two is fine
    run(cli, "score", tmp_path / "one.jsonl", "--alpha", 1, "-o", tmp_path / "one-scored.jsonl", "-q")
    line = json.loads(open(tmp_path / "one-scored.jsonl").readline())
    assert {k: v for k, v in line["scores"].items() if v is not None} == s.estimators
    assert (s.umpire, s.semantic_volume, s.incoherence) == tuple(line["scores"][k] for k in
                                                                 ("umpire", "semantic_volume", "incoherence"))


def test_sampler_and_raw_log_probs(cli, tmp_path):
    """Items that carry the sampler's and the raw model's log-probs (as umpire ask writes them):
    the *_raw estimators by default, every estimator on the raw ones with probs="raw"."""
    items = synthetic_items(12, seed=5)
    rng = np.random.default_rng(6)
    for it in items:
        it.probs = "sampler"
        for a in it.samples + [it.greedy]:
            a.raw_logprobs = a.logprobs - rng.exponential(0.2, size=len(a.logprobs))
            a.raw_entropies = None if a.entropies is None else a.entropies + 0.5
    umpire.write_samples(tmp_path / "s.jsonl", items)
    for probs, flags in ((None, []), ("raw", ["--probs", "raw"])):
        run(cli, "score", tmp_path / "s.jsonl", "--alpha", 0.5, "-o", tmp_path / "o.jsonl", "-q", *flags)
        lines = [json.loads(x) for x in open(tmp_path / "o.jsonl")]
        ss = umpire.score_set(items, alpha=0.5, probs=probs)
        assert ss.probs == (probs or "sampler") and ss.definition.probs == ss.probs
        assert ("predictive_entropy_raw" in ss.scores) == (probs is None)
        assert all(same(x["scores"][n], ss[n][i]) for i, x in enumerate(lines) for n in ss.scores)
    with pytest.raises(umpire.InvalidInputError, match="sampler log-probabilities asked for"):
        umpire.score_set(synthetic_items(3), probs="sampler")
