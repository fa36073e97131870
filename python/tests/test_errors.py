"""Bad input: a bad shape, dtype or value raises ValueError naming the argument before any call
into libumpire (the library is replaced by a trap here); random junk raises ValueError or an
UmpireError, never crashes the process or passes."""
import math

import numpy as np
import pytest

import umpire
from umpire import _lib as L
from conftest import synthetic_items


class Trap:
    def __getattr__(self, name):
        raise AssertionError("libumpire was called (%s) before the input was checked" % name)


@pytest.fixture
def no_library(monkeypatch):
    monkeypatch.setattr(L, "_lib", Trap())


EMB = np.ones((3, 4)) + np.eye(3, 4)
LP = [np.array([-0.1]), np.array([-0.2, -0.3]), np.array([-0.5])]

BAD_SCORE = [
    (dict(embeddings=np.ones(4), logprobs=LP), r"embeddings: expected a k x d matrix"),
    (dict(embeddings=np.ones((3, 0)), logprobs=LP), r"embeddings: expected a k x d matrix"),
    (dict(embeddings=[["a", "b"]] * 3, logprobs=LP), r"embeddings: expected real numbers"),
    (dict(embeddings=np.ones((3, 4), dtype=bool), logprobs=LP), r"embeddings: expected real numbers"),
    (dict(embeddings=np.ones((3, 4), dtype=complex), logprobs=LP), r"embeddings: expected real numbers"),
    (dict(embeddings=[[1, 2], [3]], logprobs=LP), r"embeddings: not an array of numbers"),
    (dict(embeddings=np.full((3, 4), np.inf), logprobs=LP), r"embeddings: element \[0, 0\] is inf: not finite"),
    (dict(embeddings=EMB, logprobs=LP[:2]), r"logprobs: 2 answers, expected 3"),
    (dict(embeddings=EMB, logprobs=[[-0.1], [], [-0.2]]), r"logprobs\[1\]: empty"),
    (dict(embeddings=EMB, logprobs=[[-0.1], [0.2], [-0.2]]), r"logprobs\[1\]: element 0 is 0.2: a log-probability must be <= 0"),
    (dict(embeddings=EMB, logprobs=[[-0.1], [[-0.2]], [-0.2]]), r"logprobs\[1\]: expected a 1-D array"),
    (dict(embeddings=EMB, logprobs=np.full(3, -0.1)), r"logprobs: expected a list of k 1-D arrays or a k x T array"),
    (dict(embeddings=EMB, logprobs=-np.ones((3, 2)), lengths=[1, 3, 1]), r"lengths\[1\]: 3 tokens, the row has 2"),
    (dict(embeddings=EMB, logprobs=-np.ones((3, 2)), lengths=[1, 0, 1]), r"lengths\[1\]: 0 tokens"),
    (dict(embeddings=EMB, logprobs=-np.ones((3, 2)), lengths=[1, 1.5, 1]), r"lengths: expected whole numbers"),
    (dict(embeddings=EMB, logprobs=-np.ones((3, 2)), lengths=[1, 1]), r"lengths: 2 values, expected 3"),
    (dict(embeddings=EMB, logprobs=-np.ones((3, 2)), mask=np.ones((3, 2))), r"mask: expected booleans"),
    (dict(embeddings=EMB, logprobs=-np.ones((3, 2)), mask=np.ones((2, 2), bool)), r"mask: shape"),
    (dict(embeddings=EMB, logprobs=-np.ones((3, 2)), mask=np.ones((3, 2), bool), lengths=[1, 1, 1]), r"not both"),
    (dict(embeddings=EMB, logprobs=LP, texts=["a", "b"]), r"texts: expected 3 strings"),
    (dict(embeddings=EMB, logprobs=LP, entropies=[[1.0], [1.0], [1.0]]), r"entropies\[1\]: 1 values for 2 tokens"),
    (dict(embeddings=EMB, logprobs=LP, entropies=[[1.0], [1.0, 2], [-1.0]]), r"entropies\[2\]: .* must be >= 0"),
    (dict(embeddings=EMB[:1], logprobs=LP[:1]), r"1 answer; UMPIRE measures the spread of k >= 2"),
    (dict(embeddings=EMB, logprobs=LP, alpha=-1), r"alpha: needs a number >= 0"),
    (dict(embeddings=EMB, logprobs=LP, alpha="1"), r"alpha: needs a number >= 0"),
    (dict(embeddings=EMB, logprobs=LP, eps=0), r"eps: needs a value > 0"),
    (dict(embeddings=EMB, logprobs=LP, estimators=["nope"]), None),  # needs the registry: checked with the library
]


@pytest.mark.parametrize("kwargs,msg", [b for b in BAD_SCORE if b[1]])
def test_score_checks_before_the_library(no_library, kwargs, msg):
    with pytest.raises(ValueError, match=msg):
        umpire.score(**kwargs)


def test_other_functions_check_before_the_library(no_library):
    cases = [
        (lambda: umpire.metrics([0.1, 0.2], wrong=[0, 1, 1]), r"wrong: shape \(3,\), scores has 2"),
        (lambda: umpire.metrics([0.1, 0.2], wrong=[0, 2]), r"wrong: expected booleans or 0/1 only"),
        (lambda: umpire.metrics([0.1, 0.2], wrong=[0, 1], correct=[1, 0]), r"exactly one"),
        (lambda: umpire.metrics([0.1, 0.2]), r"exactly one"),
        (lambda: umpire.metrics([0.1, np.inf], wrong=[0, 1]), r"scores: element 1 is inf"),
        (lambda: umpire.metrics([[0.1, 0.2]], wrong=[0, 1]), r"scores: expected a 1-D array"),
        (lambda: umpire.metrics([0.1, 0.2], wrong=[0, 1], bootstrap=-1), r"bootstrap: needs a whole number"),
        (lambda: umpire.metrics([0.1, 0.2], wrong=[0, 1], ci=1.5), r"ci: needs a value in \(0, 1\)"),
        (lambda: umpire.Calibration.fit([0.1, 0.2], wrong=[0, 1], method="spline"), r"method: expected one of"),
        (lambda: umpire.Calibration.fit([0.1, 0.2], wrong=[0, 1], risk=0.1), r"risk and delta go together"),
        (lambda: umpire.Calibration.fit([0.1, 0.2], wrong=[0, 1], risk=2, delta=0.1), r"risk: needs a value"),
        (lambda: umpire.Calibration.fit([0.1, 0.2], wrong=[0, 1], bins=0), r"bins: needs an integer"),
        (lambda: umpire.Calibration.fit([0.1, 0.2], wrong=[0, 1], estimator="x" * 64), r"at most 63 bytes"),
        (lambda: umpire.score_set([]), r"items: empty"),
        (lambda: umpire.score_set([object()]), r"items\[0\]: expected an umpire.Item"),
        (lambda: umpire.write_samples("x.jsonl", [umpire.Item("a", [umpire.Answer("t", [0.5])])]),
         r"items\[0\]\.samples\[0\]\.logprobs: element 0 is 0.5"),
        (lambda: umpire.write_samples("x.jsonl", [umpire.Item("a", [umpire.Answer("t", [-0.5])], probs="model")]),
         r"items\[0\]\.probs: expected one of"),
        (lambda: umpire.write_samples("x.jsonl", [umpire.Item("a", [umpire.Answer("t", [-0.5], finish="eot")])]),
         r"finish: expected"),
        (lambda: umpire.write_samples("x.jsonl", [umpire.Item("a", [umpire.Answer("t", [-0.5])], correct=2)]),
         r"correct: expected True, False or None"),
        (lambda: umpire.write_samples("x.jsonl", [umpire.Item("a", [umpire.Answer("t\ud800", [-0.5])])]),
         r"text: not encodable as UTF-8"),
        (lambda: umpire.write_samples("x\0.jsonl", []), r"path with a NUL"),
        (lambda: umpire.Engine("m.gguf", threads=-1), r"threads: needs an integer"),
        (lambda: umpire.items_from_generate((), np.zeros((4, 2)), np.zeros((4, 3), int), k=3, eos_token_id=2),
         r"k: 4 rows of logprobs are not a whole number of questions"),
    ]
    for f, msg in cases:
        with pytest.raises(ValueError, match=msg):
            f()


def test_score_set_items_are_named(tmp_path):
    items = synthetic_items(3)
    items[1].samples = items[1].samples[:1]
    with pytest.raises(ValueError, match=r"items\[1\]: 1 samples, at least 2 needed"):
        umpire.score_set(items)
    items = synthetic_items(3)
    items[0].probs, items[1].probs = "raw", "sampler"
    with pytest.raises(umpire.InvalidInputError, match="scores of different distributions do not mix"):
        umpire.score_set(items)  # the library's own check: its message, as an exception


def junk(rng):
    """Random values of many kinds and shapes."""
    kinds = [
        lambda: rng.normal(size=tuple(rng.integers(0, 4, size=rng.integers(0, 4)))),
        lambda: rng.integers(-3, 3, size=rng.integers(0, 5)),
        lambda: [rng.normal(size=rng.integers(0, 3)) for _ in range(rng.integers(0, 4))],
        lambda: [[float(x) for x in rng.normal(size=2)], "a"],
        lambda: None, lambda: "text", lambda: float("nan"), lambda: -np.inf, lambda: 10 ** 30, lambda: {},
        lambda: np.array(["a", "b"]), lambda: np.zeros((2, 2), dtype=object), lambda: True,
        lambda: -rng.random(size=(rng.integers(1, 4), rng.integers(1, 4))),
    ]
    return kinds[rng.integers(len(kinds))]()


def test_random_junk_never_crashes():
    rng = np.random.default_rng(0)
    allowed = (ValueError, umpire.UmpireError)
    calls = [
        lambda a, b, c: umpire.score(a, b, lengths=c if rng.random() < 0.3 else None),
        lambda a, b, c: umpire.metrics(a, wrong=b),
        lambda a, b, c: umpire.Calibration.fit(a, correct=b, method="platt", risk=0.1, delta=0.1),
        lambda a, b, c: umpire.score_item(umpire.Item("j", [umpire.Answer(None, b, embedding=a)] * 2)),
        lambda a, b, c: umpire.items_from_generate(a, b, c, k=2, eos_token_id=1),
    ]
    outcomes = 0
    for i in range(600):
        f = calls[i % len(calls)]
        try:
            f(junk(rng), junk(rng), junk(rng))
            outcomes += 1
        except allowed:
            pass
        except (TypeError, IndexError, AttributeError, KeyError) as e:
            pytest.fail("call %d: %s: %r" % (i, type(e).__name__, e))
    assert outcomes < 600  # most junk is refused
    assert math.isfinite(umpire.score(EMB, LP).umpire)  # and the library still works
