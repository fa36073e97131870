"""scoring.py - UMPIRE and every baseline on NumPy arrays, one question or a batch.

One question: score(embeddings, logprobs) gives V = U + alpha Q with
U = logdet(Phi Phi^T + eps I) / (2k) over the L2-normalised rows of the k x d embeddings and
Q = mean_i (1 - p_i), p_i = exp(sum of answer i's log-probs) (DESIGN.md); alpha defaults to 1, as
`umpire ask` does. A batch: score_set(items) fits alpha = |median U / median Q| on a seeded
unlabelled dev split, as `umpire score` does. Both call libumpire's estimators (the registry,
umpire_score_item / umpire_score_set), so the numbers are the CLI's.
"""
import warnings
from ctypes import byref, c_size_t
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np

from . import _lib as L
from . import _arrays
from .samples import Item, UmpireWarning, _Builder


@dataclass(frozen=True)
class EstimatorInfo:
    """An estimator of the registry: its name (as in scored items), formula, and what it reads."""
    name: str
    formula: str
    needs: frozenset


# Estimators that compare the answers' texts (the registry says nothing about texts: an item with
# unknown texts, Answer.text None, must not get a lexical score of empty strings).
_TEXT_SIMILARITY = ("lexical_similarity", "numsets_lex", "semantic_entropy_lex", "eigv_lex", "degree_lex",
                    "eccentricity_lex", "kle_lex")


def estimators():
    """Every estimator libumpire computes, in report order."""
    return _registry()


def _registry():
    n = c_size_t()
    reg = L.lib().umpire_estimators(byref(n))
    return [EstimatorInfo(reg[e].name.decode(), reg[e].formula.decode(),
                          frozenset(k for k, bit in L.NEEDS.items() if reg[e].needs & bit)) for e in range(n.value)]


def _names():
    return [e.name for e in _registry()]


def _params(alpha, eps, length_normalised, probs=None, dev_fraction=0.1, seed=0, reference_splits=False,
            cluster_threshold=0.5, kle_t=0.3):
    """Score params, every value checked before the library is asked for its defaults."""
    if alpha is not None:
        alpha = _arrays.number("alpha", alpha, lambda x: x >= 0 and np.isfinite(x), "a number >= 0 (None: fitted on a "
                                                                            "dev split)")
    eps = _arrays.number("eps", eps, lambda x: 0 < x < np.inf, "a value > 0")
    if probs is not None and probs not in ("raw", "sampler"):
        raise ValueError("probs: expected 'raw', 'sampler' or None (the log-probs the items hold), got %r" % probs)
    dev_fraction = _arrays.number("dev_fraction", dev_fraction, lambda x: 0 < x <= 1, "a value in (0, 1]")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2 ** 64:
        raise ValueError("seed: needs an integer in 0..2^64-1, got %r" % (seed,))
    cluster_threshold = _arrays.number("cluster_threshold", cluster_threshold, np.isfinite, "a number")
    kle_t = _arrays.number("kle_t", kle_t, lambda x: 0 < x < np.inf, "a value > 0")
    p = L.lib().umpire_score_default_params()
    p.alpha = -1.0 if alpha is None else alpha
    p.eps = eps
    p.length_normalised = int(bool(length_normalised))
    if probs is not None:
        p.probs = L.PROBS.index(probs)
    p.dev_fraction = dev_fraction
    p.split = L.SPLIT_NUMPY if reference_splits else L.SPLIT_UMPIRE
    p.seed = 10 if reference_splits else int(seed)  # the reference's RandomState(10), as the CLI
    p.cluster_threshold = cluster_threshold
    p.kle_t = kle_t
    return p


def _applies(item, c_item, e, name, probs):
    if name in _TEXT_SIMILARITY and any(s.text is None for s in item.samples):
        return False
    return bool(L.lib().umpire_estimator_applies(byref(c_item), e, probs))


def _select(which, names):
    """which: False (UMPIRE's parts only), True (every estimator that applies) or a list of names."""
    if which is True or which is False or which is None:
        return None
    if isinstance(which, str):
        which = [which]
    unknown = [w for w in which if w not in names]
    if unknown:
        raise ValueError("estimators: unknown %s (see umpire.estimators())" % ", ".join(map(repr, unknown)))
    return list(which)


@dataclass
class Score:
    """UMPIRE's score of one question and its parts: umpire = semantic_volume + alpha *
    incoherence (NaN where undefined: an embedding of zero norm has no direction); estimators:
    every asked-for estimator by name."""
    umpire: float
    semantic_volume: float
    incoherence: float
    alpha: float
    estimators: Dict[str, float] = field(default_factory=dict)


def score_item(item, *, alpha=1.0, eps=1e-8, length_normalised=False, probs=None, cluster_threshold=0.5,
               kle_t=0.3, estimators=False):
    """Score one Item (k >= 2 samples). estimators: False (UMPIRE's parts), True (every estimator
    the item supports) or a list of names (each must apply, else ValueError saying what it needs)."""
    b = _Builder()
    c = b.item(item, "item", min_k=2)
    p = _params(alpha, eps, length_normalised, probs, cluster_threshold=cluster_threshold, kle_t=kle_t)
    lib = L.lib()
    used = L.PROBS.index("raw") if p.probs == L.PROBS.index("raw") else c.probs
    if p.probs == L.PROBS.index("raw") and c.probs not in (L.PROBS.index("raw"), L.PROBS.index("sampler")):
        raise ValueError("probs='raw': the item does not say which log-probs it holds (probs='unspecified')")
    if p.probs == L.PROBS.index("sampler") and c.probs != L.PROBS.index("sampler"):
        raise ValueError("probs='sampler': the item holds %s log-probs" % item.probs)
    registry = _registry()
    names = [r.name for r in registry]
    applies = [_applies(item, c, e, name, used) for e, name in enumerate(names)]
    wanted = _select(estimators, names)
    if wanted is None:
        wanted = [n for n, a in zip(names, applies) if a] if estimators is True else []
    for name in wanted:
        e = names.index(name)
        if not applies[e]:
            needs = sorted(registry[e].needs) + (["texts"] if name in _TEXT_SIMILARITY else [])
            raise ValueError("estimator %s does not apply to this item: it needs %s" % (name, ", ".join(needs)))
    values = {}
    for name in ("umpire", "semantic_volume", "incoherence", *wanted):
        e = names.index(name)
        if name not in values and applies[e]:
            values[name] = lib.umpire_score_item(byref(c), e, p.alpha, byref(p))
    if c.dim and np.isnan(values["semantic_volume"]):
        warnings.warn("item%s: an embedding of zero norm has no direction: UMPIRE and the semantic volume are "
                      "undefined (NaN)" % (" " + item.id if item.id else ""), UmpireWarning, stacklevel=2)
    nan = float("nan")
    return Score(values.get("umpire", nan), values.get("semantic_volume", nan), values.get("incoherence", nan),
                 p.alpha, {name: values[name] for name in names if name in wanted})


def score(embeddings, logprobs, *, lengths=None, mask=None, texts=None, entropies=None, greedy_logprobs=None,
          alpha=1.0, eps=1e-8, length_normalised=False, estimators=False):
    """UMPIRE's score of one question from its k sampled answers.

    embeddings: k x d hidden states (phi of each answer; normalised here). logprobs: the sampled
    tokens' log-probs (EOS included), a list of k 1-D arrays, or k x T with `lengths` (k token
    counts) or `mask` (k x T, True where a token is). texts (k strings), entropies (shaped as
    logprobs) and greedy_logprobs (the low-temperature answer's) enable more estimators with
    estimators=True. Returns a Score (umpire, semantic_volume, incoherence, alpha, estimators)."""
    item = Item.from_arrays(embeddings, logprobs, lengths=lengths, mask=mask, texts=texts, entropies=entropies,
                            greedy_logprobs=greedy_logprobs)
    if item.k < 2:
        raise ValueError("embeddings: %d answer; UMPIRE measures the spread of k >= 2" % item.k)
    return score_item(item, alpha=alpha, eps=eps, length_normalised=length_normalised, estimators=estimators)


@dataclass
class ScoreDefinition:
    """What a score means: the parameters it was computed with (saved with calibrations, so a
    calibration is only applied to the score it was fitted on)."""
    alpha: float
    eps: float
    length_normalised: bool
    probs: str
    cluster_threshold: float
    kle_t: float

    def _c(self):
        d = L.ScoreDef()
        d.known = 1
        d.alpha, d.eps, d.length_normalised = self.alpha, self.eps, int(self.length_normalised)
        d.probs = L.PROBS.index(self.probs)
        d.cluster_threshold, d.kle_t = self.cluster_threshold, self.kle_t
        return d

    @classmethod
    def _from_c(cls, d):
        if not d.known:
            return None
        return cls(d.alpha, d.eps, bool(d.length_normalised), L.PROBS[d.probs], d.cluster_threshold, d.kle_t)


@dataclass
class ScoreSet:
    """The scores of a batch: scores[name] is an array over the items (NaN where undefined),
    for every estimator that applies to some item; alpha as fitted (or given) on dev_indices."""
    ids: List[Optional[str]]
    scores: Dict[str, np.ndarray]
    alpha: float
    dev_indices: np.ndarray
    probs: str
    definition: ScoreDefinition
    correct: List[Optional[bool]]
    undefined: Dict[str, int]

    def __getitem__(self, name):
        return self.scores[name]

    @property
    def umpire(self):
        return self.scores["umpire"]

    @property
    def semantic_volume(self):
        return self.scores["semantic_volume"]

    @property
    def incoherence(self):
        return self.scores["incoherence"]

    @property
    def labelled(self):
        """Indices of the items with a label."""
        return np.array([i for i, c in enumerate(self.correct) if c is not None], dtype=np.intp)

    def metrics(self, estimators=None, **params):
        """Every (or the named) estimator's metrics over the labelled items, as `umpire score`'s
        summary computes them: {name: Metrics}. params: those of umpire.metrics."""
        from .metrics import metrics
        idx = self.labelled
        if idx.size == 0:
            raise ValueError("no labels: no item has `correct`")
        wrong = np.array([not self.correct[i] for i in idx], dtype=np.int32)
        names = list(self.scores) if estimators is None else _select(estimators, list(self.scores))
        return {name: metrics(self.scores[name][idx], wrong, **params) for name in names}


def score_set(items, *, alpha=None, dev_fraction=0.1, seed=0, reference_splits=False, eps=1e-8,
              length_normalised=False, probs=None, cluster_threshold=0.5, kle_t=0.3):
    """Score a batch of Items with every estimator, as `umpire score` does: alpha None (default)
    fits |median U / median Q| on a seeded unlabelled dev split of dev_fraction of the items
    (reference_splits: numpy's RandomState(10), as UMPIRE's reference code); or give alpha.
    Returns a ScoreSet."""
    items = list(items)
    if not items:
        raise ValueError("items: empty")
    b = _Builder()
    s = b.sampleset(items, min_k=2)
    p = _params(alpha, eps, length_normalised, probs, dev_fraction, seed, reference_splits, cluster_threshold,
                kle_t)
    lib = L.lib()
    out = L.Scores()
    err = L.err_buf()
    L.check(lib.umpire_score_set(byref(s), byref(p), byref(out), err), err)
    try:
        names = _names()
        ne = out.n_estimators
        table = np.ctypeslib.as_array(out.scores, shape=(out.n * ne,)).reshape(out.n, ne).copy()
        scores, undefined = {}, {}
        for e, name in enumerate(names):
            if any(_applies(items[i], s.items[i], e, name, out.probs) for i in range(len(items))):
                scores[name] = table[:, e]
                u = lib.umpire_scores_undefined(byref(s), byref(out), e, None)
                if u:
                    undefined[name] = int(u)
        dev = np.array([out.dev_idx[j] for j in range(out.n_dev)], dtype=np.intp)
        definition = ScoreDefinition._from_c(lib.umpire_score_def_of(byref(p), byref(out)))
        result = ScoreSet([it.id for it in items], scores, out.alpha, dev, L.PROBS[out.probs], definition,
                          [None if it.correct is None else bool(it.correct) for it in items], undefined)
    finally:
        lib.umpire_scores_free(byref(out))
    if undefined.get("umpire"):
        warnings.warn("%d items have an embedding of zero norm: UMPIRE and the semantic volume are undefined "
                      "there (NaN)" % undefined["umpire"], UmpireWarning, stacklevel=2)
    return result
