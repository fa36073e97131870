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
        names = [lib.umpire_metric_name(m).decode() for m in range(r.n_metrics)]
        nan = float("nan")
        values = {n: (r.value[m] if r.value else nan) for m, n in enumerate(names)}
        cis = {n: ((r.lo[m], r.hi[m]) if r.lo and r.hi else (nan, nan)) for m, n in enumerate(names)}
        return Metrics(values, cis, int(r.n), int(r.n_wrong))
    finally:
        lib.umpire_metric_report_free(byref(r))

