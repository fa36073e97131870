"""README's "Use it from Python" works as written: its Python blocks run in order, in a folder
holding a `model.gguf` (the tiny test model), with `model` and `tokenizer` stand-ins that return
what Hugging Face returns, shaped as HF shapes it (NumPy arrays dressed as torch tensors). The
scores the README computes are then checked against UMPIRE's formulas evaluated here on the
states and log-probs the stand-in generated."""
import os
import re
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import REPO


class Tensor(np.ndarray):
    """The torch.Tensor methods the README (and umpire's converter) call."""

    def float(self):
        return self.astype(np.float32).view(Tensor)

    def numpy(self):
        return np.asarray(self)

    def cpu(self):
        return self

    def detach(self):
        return self

    def is_floating_point(self):
        return self.dtype.kind == "f"


def tensor(a):
    return np.asarray(a).view(Tensor)


EOS, VOCAB, D, LAYERS = 2, 50, 12, 3


class Tokenizer:
    eos_token_id = EOS

    def __call__(self, questions, return_tensors=None, padding=False):
        assert return_tensors == "pt"
        return {"input_ids": tensor(np.full((len(questions), 7), 9)), "attention_mask": tensor(np.ones((len(questions), 7)))}

    def batch_decode(self, ids, skip_special_tokens=False):
        return [" ".join("w%d" % t for t in row if not (skip_special_tokens and t == EOS)) for row in np.asarray(ids)]


class Model:
    """generate(): k sampled answers per question with hidden states and processed scores as HF
    returns them; answers end at EOS (then padded with EOS) or are cut at max_new_tokens."""

    def __init__(self, seed=0):
        self.rng = np.random.default_rng(seed)
        self.record = None

    def generate(self, input_ids, attention_mask, do_sample, num_return_sequences, max_new_tokens,
                 output_hidden_states, output_scores, return_dict_in_generate):
        rng, k = self.rng, num_return_sequences
        rows, prompt = input_ids.shape[0] * k, input_ids.shape[1]
        T = 6  # max_new_tokens, reached by the answers that were cut
        cut = rng.random(rows) < 0.3  # cut at T: no EOS; the others end with EOS, then EOS padding
        cut[0] = True
        lengths = np.where(cut, T, rng.integers(1, T + 1, size=rows))
        seqs = np.full((rows, prompt + T), EOS)
        seqs[:, :prompt] = np.repeat(np.asarray(input_ids), k, axis=0)
        scores, states = [], []
        for t in range(T):
            logits = rng.normal(size=(rows, VOCAB)).astype(np.float32)
            for r in range(rows):
                if t < lengths[r] - 1 or (t == lengths[r] - 1 and cut[r]):
                    seqs[r, prompt + t] = rng.integers(3, VOCAB)
            seq = prompt if t == 0 else 1
            states.append(tuple(tensor(rng.normal(size=(rows, seq, D)).astype(np.float32)) for _ in range(LAYERS + 1)))
            scores.append(tensor(logits))
        self.record = (seqs[:, prompt:], states, scores, lengths)
        return SimpleNamespace(sequences=tensor(seqs), hidden_states=tuple(states), scores=tuple(scores))

    def compute_transition_scores(self, sequences, scores, normalize_logits):
        T = len(scores)
        gen = np.asarray(sequences)[:, -T:]
        out = np.zeros(gen.shape, dtype=np.float32)
        for t, s in enumerate(scores):
            s = np.asarray(s, dtype=np.float64)
            lsm = s - s.max(axis=1, keepdims=True)
            lsm -= np.log(np.exp(lsm).sum(axis=1, keepdims=True))
            out[:, t] = lsm[np.arange(len(gen)), gen[:, t]]
        return tensor(out)


def readme_blocks():
    text = open(os.path.join(REPO, "README.md")).read()
    section = text.split("## Use it from Python", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```python\n(.*?)```", section, flags=re.S)


def test_readme_python_section_runs_as_written(models, tmp_path, monkeypatch):
    blocks = readme_blocks()
    assert len(blocks) == 3
    monkeypatch.chdir(tmp_path)
    os.symlink(os.path.join(models, "tiny.gguf"), "model.gguf")
    model = Model()
    ns = {"model": model, "tokenizer": Tokenizer()}

    def run(block):
        exec(compile(block, "README.md", "exec"), ns)

    # block 1: UMPIRE's formulas on its arrays
    run(blocks[0])
    emb = ns["embeddings"].astype(np.float32).astype(np.float64)
    phi = emb / np.linalg.norm(emb, axis=1, keepdims=True)
    u = np.linalg.slogdet(phi @ phi.T + 1e-8 * np.eye(5))[1] / 10
    q = np.mean([1 - np.exp(np.sum(x)) for x in ns["logprobs"]])
    assert (ns["s"].semantic_volume, ns["s"].incoherence) == (pytest.approx(u, rel=1e-9), pytest.approx(q, rel=1e-13))
    assert ns["s"].umpire == pytest.approx(u + q, rel=1e-9)
    assert ns["m"].n == 300 and 0.6 < ns["m"].auroc < 1 and os.path.exists("cal.json")

    # block 2: the stand-in's answers, phi from the step that drew each answer's last token
    run(blocks[1])
    gen, states, scores, lengths = model.record
    lp = np.asarray(ns["logprobs"])
    assert len(ns["items"]) == 2
    for b, item in enumerate(ns["items"]):
        rows = range(b * 5, (b + 1) * 5)
        h = np.stack([np.asarray(states[lengths[r] - 1][-1])[r, -1] for r in rows]).astype(np.float64)
        h /= np.linalg.norm(h, axis=1, keepdims=True)
        u = np.linalg.slogdet(h @ h.T + 1e-8 * np.eye(5))[1] / 10
        q = np.mean([1 - np.exp(lp[r, : lengths[r]].astype(np.float64).sum()) for r in rows])
        assert ns["batch"].semantic_volume[b] == pytest.approx(u, rel=1e-9, abs=1e-12)
        assert ns["batch"].incoherence[b] == pytest.approx(q, rel=1e-12)
        assert [s.text for s in item.samples] == ns["texts"][b * 5:(b + 1) * 5]
        assert [s.finish for s in item.samples] == ["eos" if (gen[r] == EOS).any() else "length" for r in rows]
    assert len(set(lengths)) > 1 and set(s.finish for it in ns["items"] for s in it.samples) == {"eos", "length"}
    assert ns["s"].umpire == ns["batch"].umpire[0] and "lexical_similarity" in ns["s"].estimators
    assert len(open("samples.jsonl").read().splitlines()) == 2

    # block 3: the engine answered
    run(blocks[2])
    assert ns["a"].item.k == 5 and np.isfinite(ns["a"].umpire)
