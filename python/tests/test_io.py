"""Sample sets and datasets: what Python writes reads back exactly, through libumpire's reader and
writer; what is malformed is refused with the file, line and field, and nothing is written."""
import json
import os

import numpy as np
import pytest

import umpire
from conftest import synthetic_items


def assert_same_items(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert (x.id, x.correct, x.probs, x.k) == (y.id, y.correct, y.probs, y.k)
        for s, t in zip(x.samples + [x.greedy], y.samples + [y.greedy]):
            assert s.text == t.text and s.finish == t.finish
            for f in ("logprobs", "entropies", "raw_logprobs", "raw_entropies", "tokens"):
                u, v = getattr(s, f), getattr(t, f)
                assert (u is None and v is None) or np.array_equal(u, v), f  # bit for bit
        e, f = x.embeddings, y.embeddings
        assert (e is None and f is None) or (e.dtype == f.dtype == np.float32 and np.array_equal(e, f))


def test_round_trip_is_exact(tmp_path):
    items = synthetic_items(6)
    items[1].correct = None
    items[2].samples[0].tokens = np.array([5, 6, 7][: len(items[2].samples[0].logprobs)] + [1] * max(
        0, len(items[2].samples[0].logprobs) - 3), dtype=np.int32)
    items[3].p_true, items[3].verbalised = 0.25, 0.5
    items[3].entailment = np.full((5, 5), 0.5)
    items[4].choice = umpire.Choice("B", 0.6, np.array([0.3, 0.6, 0.1]), temperature=2.0, step=1,
                                    tokens=np.array([32, 33, 34]))
    items[5].probs = "raw"
    umpire.write_samples(tmp_path / "s.jsonl", items)
    back = umpire.read_samples(tmp_path / "s.jsonl")
    assert_same_items(items, back)
    assert back[3].p_true == 0.25 and np.array_equal(back[3].entailment, items[3].entailment)
    ch = back[4].choice
    assert (ch.letter, ch.confidence, ch.temperature, ch.step) == ("B", 0.6, 2.0, 1)
    assert list(ch.tokens) == [32, 33, 34] and back[0].line == 1 and back[5].line == 6
    # one line each, the same as the item's own JSONL line
    lines = open(tmp_path / "s.jsonl").read().splitlines()
    assert lines == [it.to_jsonl() for it in items]
    o = json.loads(lines[0])
    assert o["id"] == "q0" and o["correct"] is False and len(o["samples"]) == 5 and "greedy" in o


def test_float64_embeddings_are_kept_as_float32(tmp_path):
    emb = np.array([[0.1, 1e-30], [1 / 3, 2.0]])
    it = umpire.Item.from_arrays(emb, [[-0.5], [-1e-300]], id="f")
    umpire.write_samples(tmp_path / "f.jsonl", [it])
    back = umpire.read_samples(tmp_path / "f.jsonl")[0]
    assert np.array_equal(back.embeddings, emb.astype(np.float32))
    assert back.samples[1].logprobs[0] == -1e-300


def test_reader_errors_name_file_line_field(tmp_path):
    good = synthetic_items(2)[0].to_jsonl()
    bad = json.loads(good)
    bad["samples"][1]["logprobs"] = [0.5]
    p = tmp_path / "bad.jsonl"
    p.write_text(good + "\n" + json.dumps(bad) + "\n")
    with pytest.raises(umpire.InvalidInputError, match=r"bad.jsonl:2: samples\[1\]\.logprobs: .*<= 0") as e:
        umpire.read_samples(p)
    assert isinstance(e.value, ValueError) and e.value.status == -1
    with pytest.raises(umpire.UmpireIOError, match="no-such.jsonl") as e:
        umpire.read_samples(tmp_path / "no-such.jsonl")
    assert isinstance(e.value, OSError)
    p.write_text(good + "\n{\"id\": \"x\", \"samples\": [\n")
    with pytest.raises(umpire.InvalidInputError, match="bad.jsonl:2"):
        umpire.read_samples(p)


def test_repaired_text_warns(tmp_path):
    line = synthetic_items(1)[0].to_jsonl().encode()
    p = tmp_path / "u.jsonl"
    p.write_bytes(line.replace(b'"text":"', b'"text":"\xff', 1) + b"\n")
    with pytest.warns(umpire.UmpireWarning, match=r"u.jsonl:1: samples\[0\]\.text"):
        items = umpire.read_samples(p)
    assert items[0].samples[0].text.startswith("\ufffd")


def test_bad_items_write_nothing(tmp_path):
    items = synthetic_items(3)
    items[2].samples[1].logprobs = np.array([-0.1, np.nan])
    out = tmp_path / "out.jsonl"
    with pytest.raises(ValueError, match=r"items\[2\]\.samples\[1\]\.logprobs: element 1 is nan: not finite"):
        umpire.write_samples(out, items)
    assert not out.exists() and os.listdir(tmp_path) == []
    items[2].samples[1].logprobs = np.array([-0.1])
    items[2].samples[3].embedding = np.zeros(3)
    with pytest.raises(ValueError, match=r"items\[2\]\.samples\[3\]\.embedding: width 3, the item's is 16"):
        umpire.write_samples(out, items)
    items[2].samples[3].embedding = None
    with pytest.raises(ValueError, match="4 of 5 samples have an embedding; all or none"):
        umpire.write_samples(out, items)
    items[2].samples[3].embedding = np.full(16, 1e39)
    with pytest.raises(ValueError, match="beyond float32's range"):
        umpire.write_samples(out, items)
    items[2].samples[3].embedding = np.zeros(16)
    items[2].id = "a\0b"
    with pytest.raises(ValueError, match=r"items\[2\]\.id: holds a NUL"):
        umpire.write_samples(out, items)
    assert not out.exists()


def test_datasets(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    data = tmp_path / "data"
    audio = str(tmp_path / "a.wav")
    items = [umpire.DatasetItem("a", "What is this?", ["a cat", "cat"], images=["img/1.png"], audio=[audio]),
             umpire.DatasetItem("b", "Which?", ["B"], choices=["red", "blue"]),
             umpire.DatasetItem("c", "Who is Zorg?", [], answerable=False,
                                history=[("user", "Name a city."), ("assistant", "Lyon")]),
             umpire.DatasetItem("d", "Which way?", ["left"], video="clips/v1", frames=3)]
    umpire.write_dataset(data / "d.jsonl", items)
    raw = [json.loads(x) for x in open(data / "d.jsonl")]
    assert raw[0]["image"] == ["../img/1.png"]  # relative to the file's folder; absolute kept
    assert raw[0]["audio"] == [audio]
    assert raw[1]["choices"] == {"A": "red", "B": "blue"} and raw[2]["answerable"] is False
    back = umpire.read_dataset("data/d.jsonl")
    assert raw[3]["video"] == "../clips/v1" and raw[3]["frames"] == 3
    assert [b.id for b in back] == ["a", "b", "c", "d"]
    assert os.path.normpath(back[3].video) == "clips/v1" and back[3].frames == 3
    assert back[0].video is None and back[0].frames == 8
    assert os.path.normpath(back[0].images[0]) == "img/1.png" and back[0].audio == [audio]
    assert back[0].answers == ["a cat", "cat"] and back[1].choices == ["red", "blue"]
    assert back[2].answerable is False and back[2].answers == []
    assert raw[2]["history"] == [{"role": "user", "content": "Name a city."}, {"role": "assistant", "content": "Lyon"}]
    assert back[2].history == [("user", "Name a city."), ("assistant", "Lyon")] and back[0].history == []
    # a history that does not alternate from the user's is named with its line and field
    with pytest.raises(umpire.InvalidInputError, match=r":1: history\[1\]\.role: expected \"assistant\""):
        umpire.write_dataset(data / "h.jsonl", [umpire.DatasetItem("x", "q?", ["a"], history=[("user", "a"),
                                                                                              ("user", "b")])])
    # the reader's own checks run on what is written: an answerable question needs an answer
    with pytest.raises(umpire.InvalidInputError, match=r":1: answers: needs at least one accepted answer"):
        umpire.write_dataset(data / "e.jsonl", [umpire.DatasetItem("x", "q?", [])])
    assert sorted(os.listdir(data)) == ["d.jsonl"]  # nothing left behind
    grouped = tmp_path / "g.jsonl"
    grouped.write_text('{"id": "1", "question": "q", "answers": ["a"], "category": "math"}\n')
    assert umpire.read_dataset(grouped, group="category")[0].group == "math"
