"""The engine on the random-weight test models: Engine.ask gives what `umpire ask --json` gives
(same seed, same threads: the same answers, log-probs, phi and scores), for sampling, the
black-box proxy, multiple choice, images and calibrations; bad input raises with llama.cpp's
detail and prints nothing."""
import json
import math
import os

import numpy as np
import pytest

import umpire
from conftest import run

Q = "What is the capital of France?"


@pytest.fixture(scope="module")
def tiny(models):
    return os.path.join(models, "tiny.gguf")


@pytest.fixture(scope="module")
def engine(tiny):
    with umpire.Engine(tiny, threads=1) as e:
        yield e


def cli_ask(cli, *args):
    return json.loads(run(cli, "ask", "--json", "-t", 1, *args).stdout)


def check_same(asked, theirs):
    """The item bit for bit (one JSON writer), the answer, and every score, exactly (`ask --json`
    writes numbers that read back as the same double)."""
    item = {k: v for k, v in theirs.items() if k not in ("question", "answer", "alpha", "scores", "p_error",
                                                         "verdict")}
    assert json.loads(asked.item.to_jsonl()) == item
    assert asked.answer == theirs["answer"] and asked.alpha == theirs["alpha"]
    defined = {k: v for k, v in theirs["scores"].items() if v is not None}
    assert set(defined) == {k for k, v in asked.scores.items() if math.isfinite(v)} and len(defined) > 10
    for k, v in defined.items():
        assert asked.scores[k] == v, k


def test_ask_equals_cli(cli, tiny, engine):
    a = engine.ask(Q, k=3, seed=1, max_tokens=8)
    check_same(a, cli_ask(cli, "-m", tiny, "-k", 3, "--seed", 1, "-n", 8, Q))
    assert a.item.k == 3 and a.item.probs == "sampler" and a.item.embeddings.shape == (3, engine.n_embd)
    assert all(s.raw_logprobs is not None for s in a.item.samples)
    assert a.umpire == a.scores["umpire"] == pytest.approx(a.semantic_volume + a.incoherence)
    # the same call again: the same numbers (seeded; the prefix cache gives what a cold prefill gives)
    b = engine.ask(Q, k=3, seed=1, max_tokens=8)
    assert b.item.to_jsonl() == a.item.to_jsonl() and b.scores == a.scores
    # a question after another with the same long system prompt: its blocks of 64 are reused
    doc = "The river runs north past the old mill. " * 20
    before = engine.stats()["reused_tokens"]
    engine.ask(Q, k=3, seed=1, max_tokens=8, system=doc)
    engine.ask("What is by the mill?", k=3, seed=1, max_tokens=8, system=doc)
    assert engine.stats()["reused_tokens"] - before >= 128
    # token by token (reuse_prefix="tokens"): only the new question and the template's end are
    # decoded (the exact cache decodes the last block of 64 again), in batches of batch_size: the
    # same answers, the numbers to rounding (ggml's kernels round a row by its batch's size)
    with umpire.Engine(tiny, threads=1, reuse_prefix="tokens") as t:
        t.ask(Q, k=3, seed=1, max_tokens=8, system=doc)
        s0 = t.stats()
        x = t.ask("What is by the mill?", k=3, seed=1, max_tokens=8, system=doc)
        s1 = t.stats()
    new = (s1["prompt_tokens"] - s0["prompt_tokens"]) - (s1["reused_tokens"] - s0["reused_tokens"])
    assert 0 < new < 32
    y = engine.ask("What is by the mill?", k=3, seed=1, max_tokens=8, system=doc)
    assert [s.text for s in x.item.samples] == [s.text for s in y.item.samples]
    for u, v in zip(x.item.samples, y.item.samples):
        assert np.allclose(u.logprobs, v.logprobs, atol=1e-4) and np.allclose(u.embedding, v.embedding, atol=1e-4)
    with pytest.raises(ValueError, match="reuse_prefix"):
        umpire.Engine(tiny, reuse_prefix="lru")
    # another seed, raw probabilities, a temperature, stop strings: passed through as the CLI's flags
    c = engine.ask(Q, k=4, seed=2, max_tokens=6, raw_probs=True, temp=0.7, top_p=0.95, stop=["\n"], alpha=0.5)
    check_same(c, cli_ask(cli, "-m", tiny, "-k", 4, "--seed", 2, "-n", 6, "--raw-probs", "--temp", 0.7,
                          "--top-p", 0.95, "--stop", "\n", "--alpha", 0.5, Q))
    assert c.item.probs == "raw" and c.alpha == 0.5
    # one answer, or only the low-temperature one: the single-answer scores, no spread
    for k in (1, 0):
        one = engine.ask(Q, k=k, seed=1, max_tokens=6)
        assert one.item.k == k
        assert "sequence_probability" in one.scores and "perplexity_raw" in one.scores
        assert not {"umpire", "semantic_volume", "lexical_similarity", "numsets_cos"} & set(one.scores)
        assert math.isnan(one.umpire) and one.answer == one.item.greedy.text


def test_history(engine):
    """Earlier turns reach the prompt: the same question and seed answered with them differs from
    it answered without; pairs and dicts are the same turns; a bad role is refused by name."""
    turns = [("user", "Name a city."), ("assistant", "Lyon")]
    plain = engine.ask(Q, k=2, seed=3, max_tokens=8)
    a = engine.ask(Q, k=2, seed=3, max_tokens=8, history=turns)
    b = engine.ask(Q, k=2, seed=3, max_tokens=8, history=[{"role": r, "content": c} for r, c in turns])
    assert a.item.to_jsonl() == b.item.to_jsonl()
    assert a.item.to_jsonl() != plain.item.to_jsonl()
    with pytest.raises(ValueError, match=r"history\[1\]\.role"):
        engine.ask(Q, history=[("user", "a"), ("tool", "b")])


def test_black_box_proxy(cli, tiny, engine, tmp_path):
    first = engine.ask(Q, k=3, seed=4, max_tokens=6)
    (tmp_path / "asked.json").write_text(first.item.to_jsonl() + "\n")
    forced = engine.ask(Q, responses=[s.tokens for s in first.item.samples],
                        finish=[s.finish for s in first.item.samples])
    check_same(forced, cli_ask(cli, "-m", tiny, "--responses", tmp_path / "asked.json", Q))
    # teacher forcing reproduces the sampled answers' raw log-probs and phi
    for s, f in zip(first.item.samples, forced.item.samples):
        np.testing.assert_allclose(f.logprobs, s.raw_logprobs, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(f.embedding, s.embedding, rtol=1e-4, atol=1e-5)
    (tmp_path / "answers.txt").write_text("Paris\nLyon\nParis\n")
    texts = engine.ask(Q, responses=["Paris", "Lyon", "Paris"])
    check_same(texts, cli_ask(cli, "-m", tiny, "--responses", tmp_path / "answers.txt", Q))
    assert texts.item.probs == "raw" and texts.samples == ["Paris", "Lyon", "Paris"]


def test_multiple_choice_and_image(cli, models, tmp_path):
    with umpire.Engine(os.path.join(models, "mc.gguf"), threads=1, k_max=3) as e:
        a = e.ask("Which colour is the sky?", options=["red", "blue", "green"], k=3, seed=1, max_tokens=4)
    check_same(a, cli_ask(cli, "-m", os.path.join(models, "mc.gguf"), "-k", 3, "--seed", 1, "-n", 4,
                          "--option", "red", "--option", "blue", "--option", "green", "Which colour is the sky?"))
    assert a.answer in "ABC" and a.item.choice is not None and "choice_confidence" in a.scores
    img = tmp_path / "a.ppm"
    img.write_bytes(b"P6\n28 28\n255\n" + bytes((i * 7) % 256 for i in range(28 * 28 * 3)))
    tiny, proj = os.path.join(models, "tiny.gguf"), os.path.join(models, "tiny-mmproj.gguf")
    with umpire.Engine(tiny, proj, threads=1) as e:
        b = e.ask("What is in the image?", images=img, k=2, seed=3, max_tokens=5)  # a path, or a list of them
        with pytest.raises(umpire.UmpireError, match="not-an-image.txt: "):
            (tmp_path / "not-an-image.txt").write_text("hello")
            e.ask("What?", images=[str(tmp_path / "not-an-image.txt")], k=2)
    check_same(b, cli_ask(cli, "-m", tiny, "--mmproj", proj, "--image", img, "-k", 2, "--seed", 3, "-n", 5,
                          "What is in the image?"))
    info = umpire.model_info(tiny, proj)
    assert info["n_embd"] == 16 and info["vision"] and not info["audio"] and info["has_chat_template"]


def test_calibration_in_ask(cli, tiny, engine, tmp_path):
    rng = np.random.default_rng(2)
    sampler = umpire.ScoreDefinition(alpha=1.0, eps=1e-8, length_normalised=False, probs="sampler",
                                     cluster_threshold=0.5, kle_t=0.3)
    s = rng.normal(size=200)
    wrong = rng.random(200) < 1 / (1 + np.exp(-2 * s))
    cal = umpire.Calibration.fit(s, wrong=wrong, risk=0.3, delta=0.1, definition=sampler)
    cal.save(tmp_path / "cal.json")
    a = engine.ask(Q, k=3, seed=1, max_tokens=8, calibration=tmp_path / "cal.json")
    theirs = cli_ask(cli, "-m", tiny, "-k", 3, "--seed", 1, "-n", 8, "--calibration", tmp_path / "cal.json", Q)
    check_same(a, theirs)
    assert a.p_error == theirs["p_error"] == cal.apply(a.umpire) and a.verdict == theirs["verdict"]
    # a calibration of another score is refused, as the CLI refuses it
    raw = umpire.Calibration.fit(s, wrong=wrong, definition=umpire.ScoreDefinition(1.0, 1e-8, False, "raw", 0.5, 0.3))
    with pytest.raises(umpire.InvalidInputError, match="fitted on another score"):
        engine.ask(Q, k=2, calibration=raw)
    with pytest.raises(umpire.InvalidInputError, match="fitted on another score"):
        engine.ask(Q, k=2, calibration=cal, alpha=0.5)


def test_bad_input_raises_quietly(tiny, engine, tmp_path, capfd):
    with pytest.raises(umpire.UmpireError, match="/no/such.gguf: cannot open model file"):
        umpire.Engine("/no/such.gguf")
    not_gguf = tmp_path / "x.gguf"
    not_gguf.write_text("not a model")
    with pytest.raises(umpire.UmpireError, match=r"x.gguf: not a model llama.cpp can load"):
        umpire.Engine(not_gguf)
    with pytest.raises(umpire.InvalidInputError, match="k = 20, but the engine was opened for k <= 16"):
        engine.ask(Q, k=20)
    for kwargs, msg in (({"k": -1}, "k: needs an integer"), ({"temp": float("nan")}, "temp: needs"),
                        ({"options": ["only one"]}, "options: give 2..26"),
                        ({"responses": []}, "responses: give 1..64"),
                        ({"responses": [[1, -2]]}, r"responses\[0\]: expected a text"),
                        ({"finish": ["eos"], "responses": ["a", "b"]}, "finish: expected 2"),
                        ({"prompt_style": "nope"}, "prompt_style")):
        with pytest.raises(ValueError, match=msg):
            engine.ask(Q, **kwargs)
    with pytest.raises(ValueError, match="question: holds a NUL"):
        engine.ask("a\0b")
    assert capfd.readouterr().err == ""  # llama.cpp's log captured: nothing printed
    e = umpire.Engine(tiny, threads=1)
    e.close()
    e.close()
    with pytest.raises(ValueError, match="closed"):
        e.ask(Q)


def test_log_to_stderr(tiny, capfd):
    umpire.set_llama_log("stderr")
    try:
        umpire.Engine(tiny, threads=1).close()
        assert "llama" in capfd.readouterr().err
    finally:
        umpire.set_llama_log("capture")
    with pytest.raises(ValueError, match="log: expected"):
        umpire.set_llama_log("loud")
