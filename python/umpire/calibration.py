"""calibration.py - a score turned into P(answer wrong), and a risk-controlled decision.

Calibration.fit maps one estimator's scores to error probabilities (minmax, platt, isotonic,
histogram) on labelled scores and, with risk and delta, fits the threshold that answers as many
questions as possible while the error rate among the answered stays <= risk with confidence
1 - delta (selection with guaranteed risk, Clopper-Pearson). The map is libumpire's
(umpire_calibration_*): a file saved here is the file `umpire calibrate fit` writes, and
`umpire calibrate apply` / `umpire ask --calibration` read it.
"""
import math
from ctypes import POINTER, byref, c_double, c_int

import numpy as np

from . import _arrays
from . import _lib as L
from .samples import _path


def _finite_or_none(x):
    return None if math.isnan(x) else x


class Calibration:
    """A fitted map (and threshold). Use Calibration.fit(...) or Calibration.load(path)."""

    def __init__(self, _c=None):
        if _c is None:
            raise TypeError("use Calibration.fit(scores, wrong=...) or Calibration.load(path)")
        self._c = _c

    def __del__(self):
        c = self.__dict__.get("_c")
        if c is not None and L._lib is not None:
            L._lib.umpire_calibration_free(byref(c))
            self._c = None

    @classmethod
    def fit(cls, scores, wrong=None, *, correct=None, method="isotonic", bins=10, risk=None, delta=None,
            estimator="umpire", definition=None):
        """Fit on scores and labels (wrong=... or correct=...; NaN scores are left out).

        scores may be a ScoreSet (umpire.score_set): then its `estimator` column over its
        labelled items, their labels unless given, and its score definition. method: "minmax",
        "platt", "isotonic" (default) or "histogram" (with `bins`). risk and delta (together):
        also fit the threshold. estimator / definition: what the score is, saved with the map."""
        from .scoring import ScoreDefinition, ScoreSet
        if isinstance(scores, ScoreSet):
            if estimator not in scores.scores:
                raise ValueError("estimator: %r is not among the set's scores" % estimator)
            if definition is None:
                definition = scores.definition
            if wrong is None and correct is None:
                idx = scores.labelled
                if idx.size == 0:
                    raise ValueError("no labels: no item of the score set has `correct`; pass wrong= or correct=")
                correct = np.array([scores.correct[i] for i in idx], dtype=bool)
                scores = scores.scores[estimator][idx]
            else:
                scores = scores.scores[estimator]
        s = _arrays.scores(scores)
        w = _arrays.labels(wrong, correct, s.shape[0])
        if method not in L.CAL_METHODS:
            raise ValueError("method: expected one of %s, got %r" % (", ".join(L.CAL_METHODS), method))
        bins = _arrays.whole("bins", bins, 1, 2 ** 31)
        if (risk is None) != (delta is None):
            raise ValueError("risk and delta go together")
        if risk is not None:
            risk = _arrays.number("risk", risk, lambda x: 0 < x < 1, "a value in (0, 1)")
            delta = _arrays.number("delta", delta, lambda x: 0 < x < 1, "a value in (0, 1)")
        if not isinstance(estimator, str):
            raise ValueError("estimator: expected a name, got %r" % (estimator,))
        est = estimator.encode("utf-8")
        if len(est) >= 64 or b"\0" in est:
            raise ValueError("estimator: a name of at most 63 bytes, got %r" % estimator)
        if definition is not None and not isinstance(definition, ScoreDefinition):
            raise ValueError("definition: expected a ScoreDefinition (ScoreSet.definition) or None")
        lib = L.lib()
        c = L.Calibration()
        err = L.err_buf()
        sp, wp = s.ctypes.data_as(POINTER(c_double)), w.ctypes.data_as(POINTER(c_int))
        L.check(lib.umpire_calibration_fit(sp, wp, s.shape[0], L.CAL_METHODS.index(method), bins, byref(c), err),
                err)
        self = cls(c)  # owns c from here on: freed with the object
        c.estimator = est
        if definition is not None:
            setattr(c, "def", definition._c())
        if risk is not None:
            L.check(lib.umpire_risk_threshold(sp, wp, s.shape[0], risk, delta, byref(c), err), err)
        return self

    @classmethod
    def load(cls, path):
        """Read a calibration file (`umpire calibrate fit -o`, or save())."""
        path = _path(path, "path")
        c = L.Calibration()
        err = L.err_buf()
        L.check(L.lib().umpire_calibration_load(path, byref(c), err), err)
        return cls(c)

    def save(self, path):
        """Write the map and threshold as JSON (temporary file, renamed into place)."""
        path = _path(path, "path")
        err = L.err_buf()
        L.check(L.lib().umpire_calibration_save(path, byref(self._c), err), err)

    def apply(self, scores):
        """P(answer wrong) of each score (NaN for a NaN score); a float for a float."""
        scalar = np.ndim(scores) == 0
        s = _arrays.scores(np.reshape(_arrays.real(scores, "scores"), (-1,)))
        f = L.lib().umpire_calibration_apply
        p = np.array([f(byref(self._c), float(x)) for x in s], dtype=np.float64)
        return float(p[0]) if scalar else p

    def verdict(self, scores):
        """"answer" where score <= threshold, else "escalate" (also for a NaN score), as
        `umpire calibrate apply`; needs a calibration fitted with risk and delta."""
        if math.isnan(self._c.threshold):
            raise ValueError("this calibration has no threshold: fit it with risk= and delta=")
        scalar = np.ndim(scores) == 0
        s = _arrays.scores(np.reshape(_arrays.real(scores, "scores"), (-1,)))
        v = np.where(np.isfinite(s) & (s <= self._c.threshold), "answer", "escalate")
        return str(v[0]) if scalar else v

    # what the file holds
    @property
    def method(self):
        return L.CAL_METHODS[self._c.method]

    @property
    def estimator(self):
        return self._c.estimator.decode("utf-8")

    @property
    def definition(self):
        from .scoring import ScoreDefinition
        return ScoreDefinition._from_c(getattr(self._c, "def"))

    @property
    def n(self):
        """Labelled scores it was fitted on."""
        return int(self._c.n)

    @property
    def threshold(self):
        """Answer when score <= threshold; None when not fitted, -inf when nothing meets the risk."""
        return _finite_or_none(self._c.threshold)

    @property
    def risk(self):
        return _finite_or_none(self._c.risk) if self.threshold is not None else None

    @property
    def delta(self):
        return _finite_or_none(self._c.delta) if self.threshold is not None else None

    @property
    def risk_bound(self):
        """The Clopper-Pearson bound of the chosen set's error rate (per-test level)."""
        return _finite_or_none(self._c.risk_bound) if self.threshold is not None else None

    @property
    def n_answered(self):
        return int(self._c.n_answered) if self.threshold is not None else None

    @property
    def range(self):
        """(lo, hi): the score range seen."""
        return (self._c.lo, self._c.hi)

    @property
    def platt(self):
        """(a, b) of sigmoid(a s + b) (method "platt")."""
        return (self._c.a, self._c.b)

    @property
    def points(self):
        """(x, y): isotonic: distinct scores and fitted values; histogram: upper bin edges and
        error rates; None for the other methods."""
        c = self._c
        if not c.x or not c.n_points:
            return None
        n = c.n_points
        return (np.ctypeslib.as_array(c.x, shape=(n,)).copy(), np.ctypeslib.as_array(c.y, shape=(n,)).copy())

    def __repr__(self):
        t = self.threshold
        return "Calibration(%s of %r, n=%d%s)" % (self.method, self.estimator, self.n,
                                                  "" if t is None else ", threshold=%.6g" % t)
