"""_arrays.py - NumPy inputs checked before they reach the C library.

Every check raises ValueError naming the argument (and the row and element), so that a bad shape,
dtype or value never reaches libumpire. The rules are those of the sample-set reader: log-probs
finite and <= 0, entropies finite and >= 0, embeddings finite float32, every answer at least one
token (the EOS token's log-prob is always there).
"""
import numpy as np

FLOAT32_MAX = float(np.finfo(np.float32).max)


def to_numpy(x):
    """A NumPy view of an array-like; a torch tensor (on any device, any float type) is copied to
    the CPU as float32, without importing torch."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):  # torch.Tensor (bfloat16 has no NumPy dtype)
        x = x.detach().cpu()
        if x.is_floating_point():
            x = x.float()
        return x.numpy()
    return x


def real(x, name, dtype=np.float64):
    """x as an array of dtype; ValueError unless it holds real numbers (not bool, str, object)."""
    try:
        a = np.asarray(to_numpy(x))
    except ValueError as e:  # ragged nested lists
        raise ValueError("%s: not an array of numbers (%s)" % (name, e)) from None
    if a.dtype.kind not in "fiu":
        raise ValueError("%s: expected real numbers, got dtype %s" % (name, a.dtype))
    return np.ascontiguousarray(a, dtype=dtype)


def check_finite(a, name, lo=None, hi=None, what=None):
    bad = ~np.isfinite(a)
    if lo is not None:
        bad |= a < lo
    if hi is not None:
        bad |= a > hi
    if bad.any():
        j = np.unravel_index(int(np.argmax(bad)), a.shape)
        at = "element %s" % (j[0] if len(j) == 1 else list(j))
        v = a[j]
        reason = "not finite" if not np.isfinite(v) else what or "out of range"
        raise ValueError("%s: %s is %r: %s" % (name, at, float(v), reason))


def embeddings(x, name="embeddings", k=None):
    """A k x d float32 matrix of hidden states (C order), finite within float32's range."""
    a = real(x, name, np.float64)
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError("%s: expected a k x d matrix (one row per answer), got shape %s" % (name, a.shape))
    if k is not None and a.shape[0] != k:
        raise ValueError("%s: %d rows for %d answers" % (name, a.shape[0], k))
    check_finite(a, name, -FLOAT32_MAX, FLOAT32_MAX, "beyond float32's range")
    return np.ascontiguousarray(a, dtype=np.float32)


def vector(x, name, dtype=np.float64, n=None):
    a = real(x, name, dtype)
    if a.ndim != 1:
        raise ValueError("%s: expected a 1-D array, got shape %s" % (name, a.shape))
    if n is not None and a.shape[0] != n:
        raise ValueError("%s: %d values, expected %d" % (name, a.shape[0], n))
    return a


def token_values(x, name, kind):
    """One answer's per-token values: 1-D float64, at least one, checked for kind."""
    a = vector(x, name)
    if a.shape[0] == 0:
        raise ValueError("%s: empty (every answer has at least one token: its EOS)" % name)
    if kind == "logprobs":
        check_finite(a, name, hi=0.0, what="a log-probability must be <= 0")
    else:
        check_finite(a, name, lo=0.0, what="an entropy must be >= 0")
    return a


def rows(x, name, kind="logprobs", k=None, lengths=None, mask=None):
    """Per-answer token values as a list of 1-D float64 arrays, from a list of k 1-D arrays, or a
    k x T array with `lengths` (k counts, each 1..T) or `mask` (k x T, True where a token is)."""
    if lengths is not None and mask is not None:
        raise ValueError("give lengths or mask, not both")
    x = to_numpy(x)
    if isinstance(x, (list, tuple)):
        if mask is not None:
            raise ValueError("mask: goes with a k x T %s array, not a list of rows" % name)
        out = [vector(r, "%s[%d]" % (name, i)) for i, r in enumerate(x)]
    else:
        a = real(x, name)
        if a.ndim != 2:
            raise ValueError("%s: expected a list of k 1-D arrays or a k x T array, got shape %s" % (name, a.shape))
        out = list(a)
        if mask is not None:
            m = np.asarray(to_numpy(mask))
            if m.dtype != np.bool_:
                raise ValueError("mask: expected booleans (True where a token is), got dtype %s" % m.dtype)
            if m.shape != a.shape:
                raise ValueError("mask: shape %s, %s has %s" % (m.shape, name, a.shape))
            out = [r[mr] for r, mr in zip(out, m)]
    if k is not None and len(out) != k:
        raise ValueError("%s: %d answers, expected %d" % (name, len(out), k))
    if lengths is not None:
        n = vector(lengths, "lengths", np.float64, len(out))
        if not np.all(n == np.floor(n)):
            raise ValueError("lengths: expected whole numbers of tokens")
        for i, (r, t) in enumerate(zip(out, n)):
            if not 1 <= t <= r.shape[0]:
                raise ValueError("lengths[%d]: %d tokens, the row has %d (each answer has 1..T)" % (i, t, r.shape[0]))
        out = [r[: int(t)] for r, t in zip(out, n)]
    return [token_values(r, "%s[%d]" % (name, i), kind) for i, r in enumerate(out)]


def labels(wrong, correct, n, name="scores"):
    """The wrong-answer indicator (int32, 1 = wrong) from exactly one of wrong / correct."""
    if (wrong is None) == (correct is None):
        raise ValueError("give the labels as wrong=... (1 = the answer is wrong) or correct=..., exactly one")
    which = "wrong" if wrong is not None else "correct"
    a = np.asarray(to_numpy(wrong if wrong is not None else correct))
    if a.dtype.kind not in "biuf":
        raise ValueError("%s: expected booleans or 0/1, got dtype %s" % (which, a.dtype))
    if a.ndim != 1 or a.shape[0] != n:
        raise ValueError("%s: shape %s, %s has %d values" % (which, a.shape, name, n))
    if a.dtype.kind != "b" and not np.all((a == 0) | (a == 1)):
        raise ValueError("%s: expected booleans or 0/1 only" % which)
    w = a.astype(bool)
    return np.ascontiguousarray(w if wrong is not None else ~w, dtype=np.int32)


def scores(x, name="scores"):
    """Uncertainty scores: 1-D float64, finite or NaN (undefined: left out)."""
    a = vector(x, name)
    if np.isinf(a).any():
        i = int(np.argmax(np.isinf(a)))
        raise ValueError("%s: element %d is %r: scores must be finite (NaN: undefined, left out)" % (name, i, a[i]))
    return a


def number(name, v, ok, need):
    """A real number v (not bool) for which ok(v) holds, as float; else ValueError."""
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)) or not ok(float(v)):
        raise ValueError("%s: needs %s, got %r" % (name, need, v))
    return float(v)


def whole(name, v, lo, hi):
    """An integer v (not bool) in lo..hi, as int; else ValueError."""
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or not lo <= v <= hi:
        raise ValueError("%s: needs an integer in %d..%d, got %r" % (name, lo, hi, v))
    return int(v)
