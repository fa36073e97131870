"""metrics.py - how well a score detects wrong answers (positive = wrong, score = uncertainty).

metrics(scores, wrong=...) computes every metric of libumpire (AUROC, AUPRC, PRR, AURAC, TPR at
10 % / 1 % FPR, CPC, cECE, ECE, Brier, NLL) with seeded bootstrap intervals, through
umpire_metrics_compute: the numbers of `umpire score`'s summary and `umpire metrics`' table.
A metric that is undefined on the data (one class only, a constant score) is NaN.
"""
from ctypes import POINTER, byref, c_double, c_int
from dataclasses import dataclass
from typing import Dict, Tuple

import numpy as np

from . import _arrays
from . import _lib as L


def metric_names():
    """The metrics this library computes, in its order ("auroc", "auprc", "prr", ...)."""
    lib = L.lib()
    return [lib.umpire_metric_name(m).decode() for m in range(lib.umpire_metric_count())]


@dataclass
class Metrics:
    """values[name] (NaN: undefined on the data) and its bootstrap interval ci[name] = (lo, hi);
    n scores were finite, n_wrong of them wrong answers. m.auroc is m.values["auroc"]."""
    values: Dict[str, float]
    ci: Dict[str, Tuple[float, float]]
    n: int
    n_wrong: int

    def __getitem__(self, name):
        return self.values[name]

    def __getattr__(self, name):
        values = self.__dict__.get("values")
        if values is not None and name in values:
            return values[name]
        raise AttributeError(name)


def _metric_params(seed, bootstrap, ci, ece_bins, cpc_bins, cece_bins, cal_fraction, reference_splits):
    """Metric params, every value checked before the library is asked for its defaults."""
    for name, v, lo in (("seed", seed, 0), ("bootstrap", bootstrap, 0), ("ece_bins", ece_bins, 1),
                        ("cpc_bins", cpc_bins, 1), ("cece_bins", cece_bins, 1)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= v < 2 ** 63:
            raise ValueError("%s: needs a whole number >= %d, got %r" % (name, lo, v))
    for name, v in (("ci", ci), ("cal_fraction", cal_fraction)):
        if isinstance(v, bool) or not isinstance(v, (int, float, np.floating)) or not 0 < v < 1:
            raise ValueError("%s: needs a value in (0, 1), got %r" % (name, v))
    p = L.lib().umpire_metric_default_params()
    p.seed = int(seed)
    p.split = L.SPLIT_NUMPY if reference_splits else L.SPLIT_UMPIRE
    p.split_seed = 10 if reference_splits else int(seed)  # as the CLI's --seed / --reference-splits
    p.bootstrap, p.ci = int(bootstrap), float(ci)
    p.ece_bins, p.cpc_bins, p.cece_bins = int(ece_bins), int(cpc_bins), int(cece_bins)
    p.cal_fraction = float(cal_fraction)
    return p


def _report(r, names):
    nan = float("nan")
    values = {n: (r.value[m] if r.value else nan) for m, n in enumerate(names)}
    cis = {n: ((r.lo[m], r.hi[m]) if r.lo and r.hi else (nan, nan)) for m, n in enumerate(names)}
    return Metrics(values, cis, int(r.n), int(r.n_wrong))


def metrics(scores, wrong=None, *, correct=None, seed=0, bootstrap=1000, ci=0.95, ece_bins=10, cpc_bins=50,
            cece_bins=50, cal_fraction=0.05, reference_splits=False):
    """Every metric of uncertainty scores against labels: wrong=... (True / 1: the answer is
    wrong) or correct=..., exactly one. NaN scores are left out. seed: cECE's split and the
    bootstrap (as `umpire score --seed`); bootstrap: resamples (0: no intervals)."""
    s = _arrays.scores(scores)
    w = _arrays.labels(wrong, correct, s.shape[0])
    p = _metric_params(seed, bootstrap, ci, ece_bins, cpc_bins, cece_bins, cal_fraction, reference_splits)
    lib = L.lib()
    r = L.MetricReport()
    err = L.err_buf()
    L.check(lib.umpire_metrics_compute(s.ctypes.data_as(POINTER(c_double)),
                                       w.ctypes.data_as(POINTER(c_int)), s.shape[0], byref(p), byref(r), err),
            err)
    try:
        return _report(r, [lib.umpire_metric_name(m).decode() for m in range(r.n_metrics)])
    finally:
        lib.umpire_metric_report_free(byref(r))


@dataclass
class Comparison:
    """Two scorings of the same answers (umpire compare): a and b, each as metrics() computes it
    on the n answers both scored, and diff = b - a with the paired bootstrap interval (every
    resample draws the same answers for both sides) in diff.ci; accuracy of each side and the
    interval of accuracy_b - accuracy_a."""
    a: Metrics
    b: Metrics
    diff: Metrics
    n: int
    accuracy_a: float
    accuracy_b: float
    accuracy_diff_ci: Tuple[float, float]


def compare(scores_a, scores_b, wrong=None, *, correct=None, wrong_b=None, correct_b=None, seed=0, bootstrap=1000,
            ci=0.95, ece_bins=10, cpc_bins=50, cece_bins=50, cal_fraction=0.05, reference_splits=False):
    """Answer i scored two ways (two estimators, or two runs: then wrong_b / correct_b are run
    B's labels; by default both sides share wrong / correct): every metric of both and of their
    difference with paired bootstrap intervals (umpire_metrics_compare; `umpire compare`)."""
    sa, sb = _arrays.scores(scores_a), _arrays.scores(scores_b)
    if sa.shape != sb.shape:
        raise ValueError("scores_a and scores_b: %d and %d scores; the same answers are compared"
                         % (sa.shape[0], sb.shape[0]))
    wa = _arrays.labels(wrong, correct, sa.shape[0])
    wb = wa if wrong_b is None and correct_b is None else _arrays.labels(wrong_b, correct_b, sa.shape[0])
    p = _metric_params(seed, bootstrap, ci, ece_bins, cpc_bins, cece_bins, cal_fraction, reference_splits)
    lib = L.lib()
    c = L.Comparison()
    err = L.err_buf()
    L.check(lib.umpire_metrics_compare(sa.ctypes.data_as(POINTER(c_double)), wa.ctypes.data_as(POINTER(c_int)),
                                       sb.ctypes.data_as(POINTER(c_double)), wb.ctypes.data_as(POINTER(c_int)),
                                       sa.shape[0], byref(p), byref(c), err), err)
    try:
        names = [lib.umpire_metric_name(m).decode() for m in range(c.a.n_metrics)]
        return Comparison(_report(c.a, names), _report(c.b, names), _report(c.diff, names), int(c.n),
                          c.accuracy_a, c.accuracy_b, (c.accuracy_diff_lo, c.accuracy_diff_hi))
    finally:
        lib.umpire_comparison_free(byref(c))


@dataclass
class IdkRates:
    """"I don't know" evaluation (umpire_idk_rates): each rate and its exact 95 % interval in ci."""
    n_answerable: int
    n_unanswerable: int
    accuracy_answerable: float
    refusal_recall: float
    over_answering: float
    over_refusal: float
    ci: Dict[str, Tuple[float, float]]


def idk_rates(answerable, declined, correct):
    """answerable[i] (False: the right answer is to decline), declined[i] (the answer declines),
    correct[i] (1, 0, or -1 unknown): accuracy on the answerable questions, refusal recall,
    over-answering and over-refusal, as `umpire eval`'s summary.json idk."""
    arrays = []
    for name, v in (("answerable", answerable), ("declined", declined), ("correct", correct)):
        a = np.asarray(v)
        if a.ndim != 1 or (a.size and not (np.issubdtype(a.dtype, np.integer) or a.dtype == bool)):
            raise ValueError("%s: needs a 1-D array of booleans or whole numbers" % name)
        arrays.append(np.ascontiguousarray(a, dtype=np.intc))
    n = arrays[0].shape[0]
    if any(a.shape[0] != n for a in arrays):
        raise ValueError("answerable, declined and correct: one value per answer each (%s)"
                         % ", ".join(str(a.shape[0]) for a in arrays))
    if np.any((arrays[2] < -1) | (arrays[2] > 1)):
        raise ValueError("correct: 1, 0 or -1 (unknown)")
    k = L.Idk()
    L.lib().umpire_idk_rates(*(a.ctypes.data_as(POINTER(c_int)) for a in arrays), n, byref(k))
    names = ("accuracy_answerable", "refusal_recall", "over_answering", "over_refusal")
    return IdkRates(int(k.n_answerable), int(k.n_unanswerable), *(getattr(k, x) for x in names),
                    {x: tuple(getattr(k, x + "_ci")) for x in names})

