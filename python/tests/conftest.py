"""Shared fixtures. Run by `make test` (tests/CMakeLists.txt) with:
  UMPIRE_LIBRARY      the built libumpire.so
  UMPIRE_CLI          the built `umpire` program (results are compared with it)
  UMPIRE_TEST_MODELS  the folder of the random-weight test models (the `models` fixture)
  UMPIRE_CC           the C compiler (test_abi.py compiles a layout probe against umpire.h)
Run by hand from a build tree: the defaults point at <repo>/build.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BUILD = os.path.join(REPO, "build")
os.environ.setdefault("UMPIRE_LIBRARY", os.path.join(BUILD, "libumpire.so"))
sys.path.insert(0, os.path.join(REPO, "python"))


def _need(path, what):
    if not os.path.exists(path):
        pytest.fail("%s not found at %s (build first: make)" % (what, path))
    return path


@pytest.fixture(scope="session")
def cli():
    return _need(os.environ.get("UMPIRE_CLI", os.path.join(BUILD, "umpire")), "the umpire program")


@pytest.fixture(scope="session")
def models():
    return _need(os.environ.get("UMPIRE_TEST_MODELS", os.path.join(BUILD, "test-models")), "the test models")


def run(*args, check=True):
    """Run a program; its stdout (text). A failure shows its stderr."""
    p = subprocess.run([str(a) for a in args], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError("%s exited %d:\n%s" % (" ".join(map(str, args)), p.returncode, p.stderr))
    return p


def synthetic_items(n=40, k=5, d=16, seed=1, texts=True):
    """A labelled batch whose wrong answers spread more (so the metrics are neither 0 nor 1), with
    the parts every estimator family reads: texts, entropies, greedy answers."""
    import umpire
    rng = np.random.default_rng(seed)
    words = ["paris", "london", "rome", "the", "city", "capital"]
    items = []
    for i in range(n):
        wrong = i % 3 == 0
        spread = rng.uniform(0.2, 1.0) + (0.5 if wrong else 0.0)
        centre = rng.normal(size=d)
        emb = centre + spread * rng.normal(size=(k, d))
        lens = rng.integers(1, 6, size=k)
        lp = [-rng.exponential(0.6 if wrong else 0.2, size=t) for t in lens]
        ent = [rng.exponential(1.0, size=t) for t in lens]
        tx = [" ".join(rng.choice(words, size=rng.integers(1, 4))) for _ in range(k)] if texts else None
        it = umpire.Item.from_arrays(emb, lp, texts=tx, entropies=ent,
                                     greedy_logprobs=-rng.exponential(0.3, size=2), greedy_text="paris",
                                     id="q%d" % i, correct=not wrong)
        items.append(it)
    return items
