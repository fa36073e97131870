"""samples.py - umpire's interchange format in Python: sample sets and datasets (JSONL).

A sample set holds, per question, k sampled answers with their token log-probabilities and the
hidden state phi (DESIGN.md). Items are plain dataclasses of NumPy arrays; reading and writing
go through libumpire's own reader and writer, so what Python writes is exactly what `umpire
score` reads, and every number reads back as the same double (embeddings: the same float32).
"""
import ctypes
import os
import tempfile
import warnings
from ctypes import POINTER, byref, c_char_p, c_double, c_float, c_int32
from dataclasses import dataclass, field
from typing import List, Optional

import numpy as np

from . import _arrays
from . import _lib as L


class UmpireWarning(UserWarning):
    """Something read was repaired (a text with ill-formed UTF-8), or a score is undefined."""


@dataclass(eq=False)
class Answer:
    """One answer: its text, the log-probabilities of its tokens (EOS included), and optionally
    phi (`embedding`, before normalisation), token entropies, the raw model's log-probs and
    entropies beside the sampler's, token ids, the middle layer's state, and why it ended
    ("eos", "stop", "length"). text None: not known (the lexical estimators then do not apply)."""
    text: Optional[str]
    logprobs: np.ndarray
    embedding: Optional[np.ndarray] = None
    entropies: Optional[np.ndarray] = None
    raw_logprobs: Optional[np.ndarray] = None
    raw_entropies: Optional[np.ndarray] = None
    tokens: Optional[np.ndarray] = None
    middle: Optional[np.ndarray] = None
    finish: Optional[str] = None


@dataclass(eq=False)
class Choice:
    """A multiple-choice answer: the letter chosen (None: the model named none), its probability,
    the temperature it was read at, the step, and every option letter's probability."""
    letter: Optional[str]
    confidence: float
    p: np.ndarray
    temperature: float = 1.0
    step: int = 0
    tokens: Optional[np.ndarray] = None


@dataclass(eq=False)
class Item:
    """One question's sample set: k sampled answers, the low-temperature answer (`greedy`), the
    label (`correct`: True, False or None), which distribution the log-probs are of (`probs`:
    "unspecified", "raw", "sampler"), and what extra passes measured."""
    id: Optional[str]
    samples: List[Answer]
    greedy: Optional[Answer] = None
    correct: Optional[bool] = None
    probs: str = "unspecified"
    middle_layer: int = -1
    p_true: Optional[float] = None
    verbalised: Optional[float] = None
    entailment: Optional[np.ndarray] = None
    choice: Optional[Choice] = None
    gradients: Optional[dict] = None  # {"semgrad", "exgrad", "hybridgrad"} of the greedy answer
    line: int = field(default=0, compare=False)  # the source file's line (read items)

    @property
    def k(self):
        return len(self.samples)

    @property
    def embeddings(self):
        """The k x d matrix of the samples' phi (float32), or None when they have none."""
        if not self.samples or any(s.embedding is None for s in self.samples):
            return None
        return np.stack([np.asarray(s.embedding, dtype=np.float32) for s in self.samples])

    @classmethod
    def from_arrays(cls, embeddings, logprobs, *, lengths=None, mask=None, texts=None, entropies=None,
                    greedy_logprobs=None, greedy_text=None, id=None, correct=None, probs="unspecified"):
        """An item from NumPy arrays: embeddings k x d (phi of each answer, before normalisation);
        logprobs a list of k 1-D arrays, or k x T with `lengths` or `mask` (True where a token
        is); texts k strings or None; entropies shaped as logprobs; greedy_logprobs 1-D."""
        emb = _arrays.embeddings(embeddings)
        k = emb.shape[0]
        lp = _arrays.rows(logprobs, "logprobs", "logprobs", k, lengths, mask)
        ent = None if entropies is None else _arrays.rows(entropies, "entropies", "entropies", k, lengths, mask)
        if ent is not None:
            for i, (a, b) in enumerate(zip(lp, ent)):
                if a.shape != b.shape:
                    raise ValueError("entropies[%d]: %d values for %d tokens" % (i, b.shape[0], a.shape[0]))
        if texts is not None:
            texts = list(texts)
            if len(texts) != k or not all(isinstance(t, str) for t in texts):
                raise ValueError("texts: expected %d strings, one per answer" % k)
        samples = [Answer(texts[i] if texts is not None else None, lp[i], emb[i],
                          ent[i] if ent is not None else None) for i in range(k)]
        greedy = None
        if greedy_logprobs is not None:
            greedy = Answer(greedy_text, _arrays.token_values(greedy_logprobs, "greedy_logprobs", "logprobs"))
        return cls(id, samples, greedy, correct, probs)

    def to_jsonl(self):
        """This item as one line of umpire's sample-set JSONL (no newline), by libumpire's writer."""
        b = _Builder()
        c = b.item(self, "item")
        return L.take_string(L.lib().umpire_item_to_jsonl(byref(c)))


# ------------------------------------------------------------------ Python -> C
def _text(s, where):
    if not isinstance(s, str):
        raise ValueError("%s: expected a string, got %s" % (where, type(s).__name__))
    if "\0" in s:
        raise ValueError("%s: holds a NUL character, which would cut it short" % where)
    try:
        return s.encode("utf-8")
    except UnicodeEncodeError as e:
        raise ValueError("%s: not encodable as UTF-8 (%s)" % (where, e.reason)) from None


class _Builder:
    """Builds C structs over Python-owned memory, keeping every buffer alive as long as itself."""

    def __init__(self):
        self.keep = []

    def hold(self, obj):
        self.keep.append(obj)
        return obj

    def doubles(self, a):
        a = self.hold(np.ascontiguousarray(a, dtype=np.float64))
        return a.ctypes.data_as(POINTER(c_double))

    def floats(self, a):
        a = self.hold(np.ascontiguousarray(a, dtype=np.float32))
        return a.ctypes.data_as(POINTER(c_float))

    def ints(self, a):
        a = self.hold(np.ascontiguousarray(a, dtype=np.int32))
        return a.ctypes.data_as(POINTER(c_int32))

    def strings(self, seq, where):
        """A const char *const * array of the strings."""
        encoded = [_text(s, "%s[%d]" % (where, i)) for i, s in enumerate(seq)]
        self.hold(encoded)
        arr = self.hold((c_char_p * max(1, len(encoded)))(*encoded))
        return ctypes.cast(arr, POINTER(c_char_p)), len(encoded)

    def answer(self, a, where, dim, dim_middle):
        if not isinstance(a, Answer):
            raise ValueError("%s: expected an umpire.Answer, got %s" % (where, type(a).__name__))
        c = L.Answer()
        c.text = self.hold(_text(a.text if a.text is not None else "", where + ".text"))
        lp = _arrays.token_values(a.logprobs, where + ".logprobs", "logprobs")
        n = lp.shape[0]
        c.n_tokens = n
        c.logprobs = self.doubles(lp)
        for name, kind in (("entropies", "entropies"), ("raw_logprobs", "logprobs"), ("raw_entropies", "entropies")):
            v = getattr(a, name)
            if v is not None:
                v = _arrays.token_values(v, "%s.%s" % (where, name), kind)
                if v.shape[0] != n:
                    raise ValueError("%s.%s: %d values for %d tokens" % (where, name, v.shape[0], n))
                setattr(c, name, self.doubles(v))
        if a.tokens is not None:
            t = _arrays.vector(a.tokens, where + ".tokens", np.float64, n)
            if not np.all((t == np.floor(t)) & (t >= 0) & (t <= np.iinfo(np.int32).max)):
                raise ValueError("%s.tokens: expected token ids (whole numbers >= 0)" % where)
            c.tokens = self.ints(t)
        for name, width in (("embedding", dim), ("middle", dim_middle)):
            v = getattr(a, name)
            if v is None:
                continue
            v = _arrays.embeddings(np.reshape(_arrays.real(v, "%s.%s" % (where, name)), (1, -1)),
                                   "%s.%s" % (where, name))[0]
            if v.shape[0] != width:
                raise ValueError("%s.%s: width %d, the item's is %d" % (where, name, v.shape[0], width))
            setattr(c, name, self.floats(v))
        if a.finish not in L.FINISH:
            raise ValueError("%s.finish: expected \"eos\", \"stop\", \"length\" or None, got %r" % (where, a.finish))
        c.finish = L.FINISH.index(a.finish)
        return c

    def item(self, it, where, min_k=1):
        if not isinstance(it, Item):
            raise ValueError("%s: expected an umpire.Item, got %s" % (where, type(it).__name__))
        samples = list(it.samples)
        if len(samples) < min_k:
            raise ValueError("%s: %d samples, at least %d needed" % (where, len(samples), min_k))
        c = L.Item()
        c.id = None if it.id is None else self.hold(_text(it.id, where + ".id"))
        if it.probs not in L.PROBS:
            raise ValueError("%s.probs: expected one of %s, got %r" % (where, ", ".join(L.PROBS), it.probs))
        c.probs = L.PROBS.index(it.probs)
        # every sample has phi, or none has: the reader's rule (the format has one width per item)
        with_emb = [s.embedding is not None for s in samples if isinstance(s, Answer)]
        if any(with_emb) and not all(with_emb):
            raise ValueError("%s.samples: %d of %d samples have an embedding; all or none"
                             % (where, sum(with_emb), len(samples)))
        first = next((a.embedding for a in samples + [it.greedy] if isinstance(a, Answer) and a.embedding is not None),
                     None)
        dim = int(np.size(first)) if first is not None else 0
        with_mid = [s.middle is not None for s in samples if isinstance(s, Answer)]
        if any(with_mid) and not all(with_mid):
            raise ValueError("%s.samples: %d of %d samples have a middle state; all or none"
                             % (where, sum(with_mid), len(samples)))
        dim_middle = int(np.size(samples[0].middle)) if samples and any(with_mid) else 0
        arr = self.hold((L.Answer * max(1, len(samples)))())
        for i, s in enumerate(samples):
            arr[i] = self.answer(s, "%s.samples[%d]" % (where, i), dim, dim_middle)
        c.samples = ctypes.cast(arr, POINTER(L.Answer))
        c.k, c.dim, c.dim_middle = len(samples), dim, dim_middle
        c.middle_layer = int(it.middle_layer) if dim_middle else -1
        if it.greedy is not None:
            c.greedy = self.answer(it.greedy, where + ".greedy", dim, 0)
        if it.correct is not None and not isinstance(it.correct, (bool, np.bool_)) and it.correct not in (0, 1):
            raise ValueError("%s.correct: expected True, False or None, got %r" % (where, it.correct))
        c.correct = -1 if it.correct is None else int(bool(it.correct))
        c.line = int(it.line or 0)
        extras = 0
        for name, flag in (("p_true", L.HAS_P_TRUE), ("verbalised", L.HAS_VERBALISED)):
            v = getattr(it, name)
            if v is not None:
                v = float(v)
                if not (0.0 <= v <= 1.0):
                    raise ValueError("%s.%s: expected a probability in [0, 1], got %r" % (where, name, v))
                setattr(c, name, v)
                extras |= flag
        if it.entailment is not None:
            e = _arrays.real(it.entailment, where + ".entailment")
            if e.shape != (len(samples), len(samples)):
                raise ValueError("%s.entailment: shape %s, expected %d x %d" % (where, e.shape, len(samples),
                                                                                len(samples)))
            _arrays.check_finite(e, where + ".entailment", 0.0, 1.0, "not a probability")
            c.entailment = self.doubles(e)
            extras |= L.HAS_ENTAILMENT
        if it.choice is not None:
            c.choice = self.choice(it.choice, where + ".choice")
            extras |= L.HAS_CHOICE
        if it.gradients is not None:
            for name in ("semgrad", "exgrad", "hybridgrad"):
                v = float(it.gradients.get(name, float("nan")))
                if not (v >= 0.0 and np.isfinite(v)):
                    raise ValueError("%s.gradients.%s: expected a finite number >= 0, got %r" % (where, name, v))
                setattr(c, name, v)
            extras |= L.HAS_GRADIENTS
        c.extras = extras
        return c

    def choice(self, ch, where):
        p = _arrays.vector(ch.p, where + ".p")
        n = p.shape[0]
        if not 2 <= n <= 26:
            raise ValueError("%s.p: %d options; multiple choice takes 2..26" % (where, n))
        _arrays.check_finite(p, where + ".p", 0.0, 1.0, "not a probability")
        letters = [chr(ord("A") + i) for i in range(n)]
        if ch.letter is not None and ch.letter not in letters:
            raise ValueError("%s.letter: expected one of %s or None, got %r" % (where, "".join(letters), ch.letter))
        c = L.Choice()
        c.n = n
        c.choice = letters.index(ch.letter) if ch.letter is not None else n
        c.confidence = float(ch.confidence)
        c.temp = float(ch.temperature)
        c.step = int(ch.step)
        for i in range(n):
            c.p[i] = p[i]
        if ch.tokens is not None:
            t = _arrays.vector(ch.tokens, where + ".tokens", np.int64, n)
            for i in range(n):
                c.token[i] = int(t[i])
        return c

    def sampleset(self, items, min_k=1):
        items = list(items)
        arr = self.hold((L.Item * max(1, len(items)))())
        for i, it in enumerate(items):
            arr[i] = self.item(it, "items[%d]" % i, min_k)
        s = L.SampleSet()
        s.items = ctypes.cast(arr, POINTER(L.Item))
        s.n = len(items)
        return s


# ------------------------------------------------------------------ C -> Python
def _array(ptr, n, dtype):
    if not ptr:
        return None
    return np.ctypeslib.as_array(ptr, shape=(n,)).astype(dtype, copy=True)


def _answer_from_c(a, dim, dim_middle):
    n = a.n_tokens
    return Answer(text=(a.text or b"").decode("utf-8", "replace"),
                  logprobs=_array(a.logprobs, n, np.float64) if n else np.zeros(0),
                  embedding=_array(a.embedding, dim, np.float32) if dim else None,
                  entropies=_array(a.entropies, n, np.float64),
                  raw_logprobs=_array(a.raw_logprobs, n, np.float64),
                  raw_entropies=_array(a.raw_entropies, n, np.float64),
                  tokens=_array(a.tokens, n, np.int32),
                  middle=_array(a.middle, dim_middle, np.float32) if dim_middle else None,
                  finish=L.FINISH[a.finish] if 0 <= a.finish < len(L.FINISH) else None)


def _item_from_c(c):
    samples = [_answer_from_c(c.samples[i], c.dim, c.dim_middle) for i in range(c.k)]
    greedy = _answer_from_c(c.greedy, c.dim, 0) if c.greedy.logprobs else None
    choice = None
    if c.extras & L.HAS_CHOICE:
        ch = c.choice
        choice = Choice(letter=chr(ord("A") + ch.choice) if ch.choice < ch.n else None,
                        confidence=ch.confidence, p=np.array(ch.p[: ch.n], dtype=np.float64), temperature=ch.temp,
                        step=ch.step, tokens=np.array(ch.token[: ch.n], dtype=np.int32))
    k = c.k
    return Item(id=c.id.decode("utf-8") if c.id is not None else None, samples=samples, greedy=greedy,
                correct=None if c.correct < 0 else bool(c.correct),
                probs=L.PROBS[c.probs] if 0 <= c.probs < len(L.PROBS) else "unspecified",
                middle_layer=c.middle_layer if c.dim_middle else -1,
                p_true=c.p_true if c.extras & L.HAS_P_TRUE else None,
                verbalised=c.verbalised if c.extras & L.HAS_VERBALISED else None,
                entailment=(_array(c.entailment, k * k, np.float64).reshape(k, k)
                            if c.extras & L.HAS_ENTAILMENT and c.entailment else None),
                choice=choice, line=c.line,
                gradients=({"semgrad": c.semgrad, "exgrad": c.exgrad, "hybridgrad": c.hybridgrad}
                           if c.extras & L.HAS_GRADIENTS else None))


def _path(path, what):
    try:
        p = os.fspath(path)
    except TypeError:
        raise ValueError("%s: expected a path, got %s" % (what, type(path).__name__)) from None
    if isinstance(p, bytes):
        p = os.fsdecode(p)
    if "\0" in p:
        raise ValueError("%s: a path with a NUL character" % what)
    return os.fsencode(p)


def read_samples(path):
    """Read a sample-set JSONL file: a list of Items. Malformed input raises InvalidInputError
    ("FILE:LINE: field: problem"); repaired texts (ill-formed UTF-8) give an UmpireWarning."""
    path = _path(path, "path")
    s = L.SampleSet()
    err = L.err_buf()
    L.check(L.lib().umpire_sampleset_read(path, byref(s), err), err)
    try:
        if s.n_warnings:
            warnings.warn("%s (%d texts repaired in all)" % (s.warning.decode("utf-8", "replace"), s.n_warnings),
                          UmpireWarning, stacklevel=2)
        return [_item_from_c(s.items[i]) for i in range(s.n)]
    finally:
        L.lib().umpire_sampleset_free(byref(s))


def write_samples(path, items):
    """Write items as a sample-set JSONL file that `umpire score` reads (to a temporary file,
    renamed into place when complete; "-": standard output). Every item is checked first: a bad
    one raises ValueError naming it, and nothing is written."""
    path = _path(path, "path")
    b = _Builder()
    s = b.sampleset(items)
    err = L.err_buf()
    L.check(L.lib().umpire_sampleset_write(path, byref(s), err), err)


# ------------------------------------------------------------------ datasets
@dataclass(eq=False)
class DatasetItem:
    """One question of an evaluation dataset: its accepted answers, media (paths as the reader
    gives them: relative to the current folder, or absolute), options for multiple choice."""
    id: str
    question: str
    answers: List[str] = field(default_factory=list)
    images: List[str] = field(default_factory=list)
    audio: List[str] = field(default_factory=list)
    choices: Optional[List[str]] = None
    answerable: bool = True
    group: Optional[str] = None
    line: int = field(default=0, compare=False)
    description: Optional[str] = None  # text about the media, asked before the question
    history: List[tuple] = field(default_factory=list)  # (role, text) turns before the question
    video: Optional[str] = None  # a clip or a folder of frames, asked as `frames` images in order
    frames: int = 8


def _strings(ptr, n):
    return [ptr[i].decode("utf-8") for i in range(n)] if ptr else []


def read_dataset(path, group=None):
    """Read a dataset JSONL (`umpire eval`'s input): a list of DatasetItems; group names a field
    (e.g. "category") kept as each item's group."""
    path = _path(path, "path")
    group = None if group is None else _text(group, "group")
    d = L.Dataset()
    err = L.err_buf()
    lib = L.lib()
    if group is None:
        rc = lib.umpire_dataset_read(path, byref(d), err)
    else:
        rc = lib.umpire_dataset_read_grouped(path, group, byref(d), err)
    L.check(rc, err)
    try:
        out = []
        for i in range(d.n):
            x = d.items[i]
            out.append(DatasetItem(id=x.id.decode("utf-8"), question=x.question.decode("utf-8"),
                                   answers=_strings(x.answers, x.n_answers),
                                   images=_strings(x.images, x.n_images), audio=_strings(x.audio, x.n_audio),
                                   choices=_strings(x.choices, x.n_choices) if x.choices else None,
                                   answerable=bool(x.answerable),
                                   group=x.group.decode("utf-8") if x.group is not None else None, line=x.line,
                                   description=x.description.decode("utf-8") if x.description is not None else None,
                                   history=[(x.history[j].role.decode("utf-8"), x.history[j].content.decode("utf-8"))
                                            for j in range(x.n_history)],
                                   video=x.video.decode("utf-8") if x.video is not None else None,
                                   frames=x.frames))
        return out
    finally:
        lib.umpire_dataset_free(byref(d))


def _dataset_line(it, where, folder):
    import json
    if not isinstance(it, DatasetItem):
        raise ValueError("%s: expected an umpire.DatasetItem, got %s" % (where, type(it).__name__))

    def rel(p, name):
        _text(p, name)
        return p if os.path.isabs(p) else os.path.relpath(p, folder)

    def texts(seq, name):
        for i, s in enumerate(seq):
            _text(s, "%s.%s[%d]" % (where, name, i))
        return list(seq)

    _text(it.id, where + ".id")
    _text(it.question, where + ".question")
    o = {"id": it.id, "question": it.question}
    if it.images:
        o["image"] = [rel(p, "%s.images[%d]" % (where, i)) for i, p in enumerate(it.images)]
    if it.audio:
        o["audio"] = [rel(p, "%s.audio[%d]" % (where, i)) for i, p in enumerate(it.audio)]
    o["answers"] = texts(it.answers, "answers")
    if it.choices is not None:
        o["choices"] = {chr(ord("A") + i): c for i, c in enumerate(texts(it.choices, "choices"))}
    if not it.answerable:
        o["answerable"] = False
    if it.description is not None:
        o["description"] = it.description
    if it.history:
        o["history"] = [{"role": r, "content": c} for r, c in it.history]
    if it.video is not None:
        o["video"] = rel(it.video, where + ".video")
        o["frames"] = it.frames
    return json.dumps(o, ensure_ascii=False)


def write_dataset(path, items):
    """Write a dataset JSONL that read_dataset and `umpire eval` read: media paths are written
    relative to the file's folder. The file is written to a temporary name, read back by
    libumpire's reader (any problem raises, naming the item, and nothing is left behind), then
    renamed into place."""
    path = os.fsdecode(os.fspath(path))
    folder = os.path.dirname(os.path.abspath(path))
    lines = [_dataset_line(it, "items[%d]" % i, folder) for i, it in enumerate(items)]
    fd, tmp = tempfile.mkstemp(prefix=".umpire-", suffix=".jsonl", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("".join(line + "\n" for line in lines))
            f.flush()
            os.fsync(f.fileno())
        read_dataset(tmp)  # what was written reads back (raises with FILE:LINE: field)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
