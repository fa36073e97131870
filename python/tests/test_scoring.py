"""UMPIRE's score and its parts against values worked out here in NumPy (DESIGN.md's formulas),
and properties a wrong binding would break (shapes, masks, order, scale, alpha)."""
import warnings

import numpy as np
import pytest

import umpire

EPS = 1e-8


def volume(emb, eps=EPS):
    """U = logdet(Phi Phi^T + eps I) / (2k), rows L2-normalised; from the float32 values umpire keeps."""
    e = np.asarray(emb, dtype=np.float32).astype(np.float64)
    phi = e / np.linalg.norm(e, axis=1, keepdims=True)
    k = phi.shape[0]
    sign, logdet = np.linalg.slogdet(phi @ phi.T + eps * np.eye(k))
    assert sign > 0
    return logdet / (2 * k)


def incoherence(lps, normalised=False):
    """Q = mean_i (1 - p_i), p_i = exp(sum of log-probs) (or exp(mean) when length-normalised)."""
    return float(np.mean([1 - np.exp(np.mean(x) if normalised else np.sum(x)) for x in lps]))


@pytest.fixture
def sample():
    rng = np.random.default_rng(7)
    emb = rng.normal(size=(6, 24))
    lengths = np.array([1, 4, 2, 5, 3, 3])
    padded = np.full((6, 5), -np.inf)  # after EOS: whatever the generator left there
    for i, t in enumerate(lengths):
        padded[i, :t] = -rng.exponential(0.4, size=t)
    lps = [padded[i, :t] for i, t in enumerate(lengths)]
    return emb, padded, lengths, lps


def test_parts_match_numpy(sample):
    emb, _, _, lps = sample
    s = umpire.score(emb, lps, alpha=0.7)
    u, q = volume(emb), incoherence(lps)
    assert s.semantic_volume == pytest.approx(u, rel=1e-9, abs=1e-12)
    assert s.incoherence == pytest.approx(q, rel=1e-13)
    assert s.umpire == pytest.approx(u + 0.7 * q, rel=1e-9)
    assert s.alpha == 0.7 and s.estimators == {}
    # alpha defaults to 1, as umpire ask
    assert umpire.score(emb, lps).umpire == pytest.approx(u + q, rel=1e-9)


def test_padded_matrix_lengths_and_mask_equal_rows(sample):
    emb, padded, lengths, lps = sample
    a = umpire.score(emb, lps)
    b = umpire.score(emb, padded, lengths=lengths)
    mask = np.arange(padded.shape[1])[None, :] < lengths[:, None]
    c = umpire.score(emb, padded, mask=mask)
    assert a == b == c
    # without lengths the padding counts as tokens: refused when not finite, else another Q
    with pytest.raises(ValueError, match=r"logprobs\[0\]: element 1 is -inf: not finite"):
        umpire.score(emb, padded)
    assert umpire.score(emb, np.where(mask, padded, -1.0)).incoherence > a.incoherence


def test_length_normalised(sample):
    emb, _, _, lps = sample
    s = umpire.score(emb, lps, length_normalised=True)
    assert s.incoherence == pytest.approx(incoherence(lps, normalised=True), rel=1e-13)


def test_order_and_scale_invariance(sample):
    emb, _, _, lps = sample
    perm = [3, 0, 5, 1, 4, 2]
    scale = np.array([1.0, 3.0, 0.5, 7.0, 1.0, 2.0])[:, None]  # powers of two and small ints: exact in float32
    a = umpire.score(emb, lps)
    b = umpire.score((emb * scale)[perm], [lps[i] for i in perm])
    assert b.semantic_volume == pytest.approx(a.semantic_volume, rel=1e-6)
    assert b.incoherence == pytest.approx(a.incoherence, rel=1e-13)


def test_identical_answers_have_the_least_volume():
    """k identical directions: Phi Phi^T = 1 1^T, eigenvalues k and 0 (k - 1 times), so
    U = (log(k + eps) + (k - 1) log eps) / 2k exactly; p_i = 1 gives Q = 0."""
    k = 4
    emb = np.tile(np.array([[3.0, 4.0, 0.0]]), (k, 1))
    s = umpire.score(emb, [np.zeros(1)] * k)
    assert s.semantic_volume == pytest.approx((np.log(k + EPS) + (k - 1) * np.log(EPS)) / (2 * k), rel=1e-6)
    assert s.incoherence == 0.0
    orth = np.eye(k)  # orthogonal answers: the largest volume, logdet(I (1 + eps)) / 2k ~ 0
    assert umpire.score(orth, [np.zeros(1)] * k).semantic_volume == pytest.approx(np.log(1 + EPS) / 2, abs=1e-12)


def test_every_estimator_with_what_it_needs(sample):
    emb, _, _, lps = sample
    texts = ["paris", "paris", "the city of paris", "rome", "paris", "london"]
    s = umpire.score(emb, lps, texts=texts, entropies=[np.abs(x) for x in lps],
                     greedy_logprobs=[-0.1, -0.2], estimators=True)
    names = [e.name for e in umpire.estimators()]
    assert list(s.estimators) == [n for n in names if n in s.estimators]  # registry order
    p = np.exp([x.sum() for x in lps])
    assert s.estimators["predictive_entropy"] == pytest.approx(-np.mean(np.log(p)), rel=1e-13)
    assert s.estimators["ln_predictive_entropy"] == pytest.approx(-np.mean([x.mean() for x in lps]), rel=1e-13)
    assert s.estimators["sequence_probability"] == pytest.approx(1 - np.exp(-0.3), rel=1e-13)
    assert s.estimators["perplexity"] == pytest.approx(np.exp(0.15), rel=1e-13)
    # the greedy answer's entropies are absent: mean token entropy of the samples' (as documented)
    assert "mean_token_entropy" in s.estimators
    assert s.estimators["semantic_volume"] == s.semantic_volume
    # ROUGE-L: "paris" x3 agree fully, "the city of paris" shares one of its 4 words with them
    assert 0 < s.estimators["lexical_similarity"] < 1
    same = umpire.score(emb, lps, texts=["a b"] * 6, estimators=["lexical_similarity", "numsets_lex"])
    assert same.estimators == {"lexical_similarity": 0.0, "numsets_lex": 1.0}
    # without texts, greedy or entropies, the estimators that read them are not reported ...
    bare = umpire.score(emb, lps, estimators=True)
    for name in ("lexical_similarity", "kle_lex", "sequence_probability", "mean_token_entropy", "eigenscore"):
        assert name not in bare.estimators
    assert bare.estimators["eigv_cos"] == s.estimators["eigv_cos"]
    # ... and asking for one by name says what it needs
    with pytest.raises(ValueError, match="sequence_probability .* needs greedy"):
        umpire.score(emb, lps, estimators=["sequence_probability"])
    with pytest.raises(ValueError, match="lexical_similarity .* needs texts"):
        umpire.score(emb, lps, estimators=["lexical_similarity"])
    with pytest.raises(ValueError, match="unknown 'nope'"):
        umpire.score(emb, lps, estimators=["nope"])


def test_zero_embedding_is_undefined_not_an_error(sample):
    emb, _, _, lps = sample
    emb = emb.copy()
    emb[2] = 0
    with pytest.warns(umpire.UmpireWarning, match="zero norm"):
        s = umpire.score(emb, lps)
    assert np.isnan(s.semantic_volume) and np.isnan(s.umpire)
    assert s.incoherence == pytest.approx(incoherence(lps), rel=1e-13)


def test_score_set_fits_alpha_on_the_dev_split():
    """dev_fraction 1: alpha = |median U / median Q| over every item, worked out here."""
    rng = np.random.default_rng(3)
    items, us, qs = [], [], []
    for i in range(9):
        emb = rng.normal(size=(3, 5))
        lps = [-rng.exponential(0.5, size=2) for _ in range(3)]
        items.append(umpire.Item.from_arrays(emb, lps, id="i%d" % i))
        us.append(volume(emb))
        qs.append(incoherence(lps))
    ss = umpire.score_set(items, dev_fraction=1.0)
    alpha = abs(np.median(us) / np.median(qs))
    assert ss.alpha == pytest.approx(alpha, rel=1e-8)
    assert list(ss.dev_indices) == list(range(9))
    np.testing.assert_allclose(ss.semantic_volume, us, rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(ss.incoherence, qs, rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(ss.umpire, np.array(us) + ss.alpha * np.array(qs), rtol=1e-12, atol=1e-15)
    assert ss.ids == ["i%d" % i for i in range(9)]
    # a given alpha is used as is; the default split is 10 % (at least one item), seeded
    assert umpire.score_set(items, alpha=0.25).alpha == 0.25
    a, b = umpire.score_set(items, seed=1), umpire.score_set(items, seed=1)
    assert a.alpha == b.alpha and len(a.dev_indices) == 1
    assert a.definition.alpha == a.alpha and a.definition.probs == "unspecified"


def test_score_set_counts_undefined_items():
    rng = np.random.default_rng(5)
    items = [umpire.Item.from_arrays(rng.normal(size=(3, 4)), [[-0.1]] * 3, id=str(i)) for i in range(4)]
    items[2].samples[0].embedding = np.zeros(4, dtype=np.float32)
    with pytest.warns(umpire.UmpireWarning, match="1 items have an embedding of zero norm"):
        ss = umpire.score_set(items, alpha=1.0)
    assert ss.undefined == {"umpire": 1, "semantic_volume": 1, "eigenscore_umpire": 1}
    assert np.isnan(ss.umpire[2]) and np.isfinite(ss.umpire[[0, 1, 3]]).all()


def test_estimator_registry():
    reg = umpire.estimators()
    names = [e.name for e in reg]
    assert names[:3] == ["umpire", "semantic_volume", "incoherence"]
    assert len(set(names)) == len(names) > 30
    assert "embedding" in reg[0].needs and reg[2].needs == frozenset()
    assert "greedy" in reg[names.index("sequence_probability")].needs


def test_no_warning_on_good_input(sample):
    emb, _, _, lps = sample
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        umpire.score(emb, lps)
