"""Metrics against definitions worked out here (AUROC by counting pairs, average precision by its
sum, Brier of the min-max probability), and calibration maps against hand-solved cases and the
conditions that define them."""
import numpy as np
import pytest

import umpire


def same(a, b, but=()):
    """Two Metrics equal value for value (NaN equal to NaN), but for the metrics named."""
    def eq(x, y):
        return np.array_equal(np.asarray(x, float), np.asarray(y, float), equal_nan=True)
    return (a.n, a.n_wrong) == (b.n, b.n_wrong) and a.values.keys() == b.values.keys() and all(
        eq(a.values[k], b.values[k]) and eq(a.ci[k], b.ci[k]) for k in a.values if k not in but)


def auroc_pairs(s, wrong):
    pos, neg = s[wrong == 1], s[wrong == 0]
    wins = sum((p > n) + 0.5 * (p == n) for p in pos for n in neg)
    return wins / (len(pos) * len(neg))


def average_precision(s, wrong):
    """sum over distinct thresholds t, most uncertain first, of (R_t - R_prev) P_t."""
    ap, prev = 0.0, 0.0
    for t in np.unique(s)[::-1]:
        sel = s >= t
        tp = (wrong[sel] == 1).sum()
        recall = tp / (wrong == 1).sum()
        ap += (recall - prev) * tp / sel.sum()
        prev = recall
    return ap


@pytest.fixture
def data():
    rng = np.random.default_rng(11)
    wrong = (rng.random(60) < 0.4).astype(int)
    s = np.round(rng.normal(size=60) + wrong, 1)  # rounded: ties across the classes
    return s, wrong


def test_auroc_auprc_brier(data):
    s, wrong = data
    m = umpire.metrics(s, wrong=wrong, bootstrap=0)
    assert m.auroc == pytest.approx(auroc_pairs(s, wrong), rel=1e-12)
    assert m["auprc"] == pytest.approx(average_precision(s, wrong), rel=1e-12)
    p = (s - s.min()) / (s.max() - s.min())
    assert m.brier == pytest.approx(np.mean((p - wrong) ** 2), rel=1e-12)
    assert (m.n, m.n_wrong) == (60, wrong.sum())
    assert list(m.values) == umpire.metric_names() and "cpc" in m.values and "cece" in m.values
    assert all(np.isnan(lo) and np.isnan(hi) for lo, hi in m.ci.values())  # bootstrap 0: no intervals


def test_labels_either_way_and_nan_left_out(data):
    s, wrong = data
    a = umpire.metrics(s, wrong=wrong.astype(bool), seed=2, bootstrap=50)
    b = umpire.metrics(s, correct=wrong == 0, seed=2, bootstrap=50)
    assert same(a, b)
    with_nan = np.concatenate([s, [np.nan, np.nan]])
    c = umpire.metrics(with_nan, wrong=np.concatenate([wrong, [1, 0]]), seed=2, bootstrap=50)
    # NaN scores are left out, the bootstrap included; cECE's split is drawn over all answers
    # (umpire_metrics_compute: those without a score then leave both parts), so it moves
    assert same(c, a, but=("cece",)) and not same(c, a)
    lo, hi = a.ci["auroc"]
    assert lo < a.auroc < hi
    assert umpire.metrics(s, wrong=wrong, seed=3, bootstrap=50).ci["auroc"] != (lo, hi)


def test_undefined_metrics_are_nan():
    one_class = umpire.metrics([0.1, 0.5, 0.9], wrong=[0, 0, 0], bootstrap=10)
    assert np.isnan(one_class.auroc) and np.isnan(one_class.auprc) and np.isnan(one_class.ci["auroc"][0])
    constant = umpire.metrics([0.5] * 6, wrong=[0, 1] * 3, bootstrap=10)  # ranks nothing: all undefined
    assert all(np.isnan(v) for v in constant.values.values()) and constant.n == 6


def test_calibration_minmax_and_isotonic_by_hand():
    s = np.array([1.0, 2.0, 3.0, 4.0])
    mm = umpire.Calibration.fit(s, wrong=[0, 1, 0, 1], method="minmax")
    np.testing.assert_allclose(mm.apply([0.0, 1.0, 2.5, 4.0, 9.0]), [0, 0, 0.5, 1, 1])
    assert mm.range == (1.0, 4.0) and mm.method == "minmax" and mm.n == 4
    # pool-adjacent-violators: (1, 0) pool to 0.5 -> 0, .5, .5, 1 at the distinct scores
    iso = umpire.Calibration.fit(s, wrong=[0, 1, 0, 1])
    x, y = iso.points
    np.testing.assert_array_equal(x, s)
    np.testing.assert_allclose(y, [0, 0.5, 0.5, 1])
    assert iso.apply(3.5) == pytest.approx(0.75)  # linear between distinct scores
    assert np.isnan(iso.apply(np.nan)) and isinstance(iso.apply(2.0), float)


def test_platt_meets_its_likelihood_equations(data):
    """At the maximum likelihood with Platt's targets t+ = (N+ + 1)/(N+ + 2), t- = 1/(N- + 2), the
    gradient vanishes: sum (p_i - t_i) = 0 and sum (p_i - t_i) s_i = 0."""
    s, wrong = data
    cal = umpire.Calibration.fit(s, wrong=wrong, method="platt")
    n_pos, n_neg = wrong.sum(), (1 - wrong).sum()
    t = np.where(wrong == 1, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    p = cal.apply(s)
    a, b = cal.platt
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-(a * s + b))), rtol=1e-12)
    assert abs(np.sum(p - t)) < 1e-6 and abs(np.sum((p - t) * s)) < 1e-6
    assert a > 0  # wrong answers score higher here


def test_risk_threshold_and_verdicts(tmp_path):
    rng = np.random.default_rng(4)
    s = rng.random(400)
    wrong = (rng.random(400) < s ** 3).astype(int)  # the least uncertain are almost always right
    cal = umpire.Calibration.fit(s, wrong=wrong, risk=0.1, delta=0.05, estimator="semantic_volume")
    answered = s <= cal.threshold
    assert answered.sum() == cal.n_answered > 100
    assert wrong[answered].mean() <= cal.risk_bound <= 0.1
    assert (cal.risk, cal.delta) == (0.1, 0.05)
    np.testing.assert_array_equal(cal.verdict(s) == "answer", answered)
    assert cal.verdict(np.nan) == "escalate"
    # the file holds it all: the same map, threshold and name back
    cal.save(tmp_path / "cal.json")
    back = umpire.Calibration.load(tmp_path / "cal.json")
    grid = np.linspace(-0.5, 1.5, 41)
    np.testing.assert_array_equal(back.apply(grid), cal.apply(grid))
    assert (back.threshold, back.n_answered, back.estimator) == (cal.threshold, cal.n_answered, "semantic_volume")
    # a target no threshold meets: escalate everything
    hard = umpire.Calibration.fit(s[:20], wrong=np.ones(20), risk=0.01, delta=0.01)
    assert hard.threshold == -np.inf and hard.n_answered == 0
    assert set(hard.verdict(s)) == {"escalate"}
    with pytest.raises(ValueError, match="no threshold"):
        umpire.Calibration.fit(s, wrong=wrong).verdict(0.5)


def test_calibration_from_a_score_set(tmp_path):
    from conftest import synthetic_items
    ss = umpire.score_set(synthetic_items(30))
    cal = umpire.Calibration.fit(ss, method="histogram", bins=4)
    assert cal.estimator == "umpire" and cal.definition == ss.definition and cal.n == 30
    wrong = np.array([not c for c in ss.correct])
    same = umpire.Calibration.fit(ss.umpire, wrong=wrong, method="histogram", bins=4)
    np.testing.assert_array_equal(cal.apply(ss.umpire), same.apply(ss.umpire))
    assert same.definition is None  # arrays alone do not say what the score is


def test_compare_equals_the_cli_and_its_properties(tmp_path, cli):
    """umpire.compare is `umpire compare`'s numbers bit for bit (the CLI takes the items in id
    order: the ids here sort as the arrays do); each side equals metrics() on the answers both
    scored; a side against itself differs by 0; swapping negates the difference."""
    import json
    from conftest import run
    rng = np.random.default_rng(4)
    n = 50
    wa = (rng.random(n) < 0.4).astype(int)
    wb = np.where(rng.random(n) < 0.8, wa, 1 - wa)
    sa = wa + rng.normal(0, 0.8, n)
    sb = wb + rng.normal(0, 1.2, n)
    sb[7] = np.nan  # left out of both sides
    for name, s, w in (("A", sa, wa), ("B", sb, wb)):
        with open(tmp_path / (name + ".jsonl"), "w") as f:
            for i in range(n):
                f.write(json.dumps({"id": "q%03d" % i, "scores": {"x": None if np.isnan(s[i]) else float(s[i])},
                                    "correct": not w[i]}) + "\n")
    run(cli, "compare", tmp_path / "A.jsonl", tmp_path / "B.jsonl", "--seed", "5", "--bootstrap", "300",
        "--json", tmp_path / "c.json")
    got = json.load(open(tmp_path / "c.json"))
    c = umpire.compare(sa, sb, wrong=wa, wrong_b=wb, seed=5, bootstrap=300)
    assert got["n"] == n and c.n == got["comparisons"][0]["n"] == n - 1  # labelled in both; both scored
    for side in ("a", "b", "diff"):
        mine, theirs = getattr(c, side), got["comparisons"][0][side]
        for k, v in mine.values.items():
            want = theirs[k]
            assert (np.isnan(v) and want is None) or v == want, (side, k, v, want)
            lo, hi = theirs[k + "_ci"]
            assert (np.isnan(mine.ci[k][0]) and lo is None) or (mine.ci[k] == (lo, hi)), (side, k)
    # (the CLI's accuracy comes from all labelled answers, this one's from those both scored)
    keep = ~np.isnan(sb)
    assert same(c.a, umpire.metrics(np.where(keep, sa, np.nan), wrong=wa, seed=5, bootstrap=300))
    assert c.accuracy_a == 1 - wa[keep].mean() and c.accuracy_b == 1 - wb[keep].mean()
    self = umpire.compare(sa, sa, wrong=wa, seed=1, bootstrap=100)
    assert self.diff.auroc == 0 and self.diff.ci["auroc"] == (0, 0) and self.accuracy_diff_ci == (0, 0)
    swapped = umpire.compare(sb, sa, wrong=wb, wrong_b=wa, seed=5, bootstrap=300)
    assert swapped.diff.auroc == -c.diff.auroc
    assert swapped.diff.ci["auroc"] == pytest.approx((-c.diff.ci["auroc"][1], -c.diff.ci["auroc"][0]), abs=1e-12)
    with pytest.raises(ValueError, match="the same answers"):
        umpire.compare(sa, sb[:10], wrong=wa)


def test_idk_rates_by_hand():
    """4 answerable (right, wrong, declined, unlabelled), 3 unanswerable (declined twice)."""
    r = umpire.idk_rates([1, 1, 1, 1, 0, 0, 0], [0, 0, 1, 0, 1, 1, 0], [1, 0, 0, -1, 1, 1, 0])
    assert (r.n_answerable, r.n_unanswerable) == (4, 3)
    assert r.accuracy_answerable == pytest.approx(1 / 3) and r.over_refusal == pytest.approx(1 / 4)
    assert r.refusal_recall == pytest.approx(2 / 3) and r.over_answering == pytest.approx(1 / 3)
    lo, hi = r.ci["refusal_recall"]
    assert lo < 2 / 3 < hi and r.ci["over_answering"] == pytest.approx((1 - hi, 1 - lo), abs=1e-12)
    none = umpire.idk_rates([1, 1, 1], [0, 0, 0], [1, 1, 1])  # 0 of 3 declined: [0, 1 - 0.025^(1/3)]
    assert none.ci["over_refusal"] == pytest.approx((0, 1 - 0.025 ** (1 / 3)), abs=1e-9)
    assert np.isnan(none.refusal_recall)
    with pytest.raises(ValueError, match="one value per answer"):
        umpire.idk_rates([1, 0], [0], [1, 1])
    with pytest.raises(ValueError, match="correct"):
        umpire.idk_rates([1], [0], [2])
