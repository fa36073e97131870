"""engine.py - a GGUF model on libumpire's engine: ask a question, get k sampled answers (one
prefill, decoded together), the low-temperature answer, and every score; as `umpire ask`.

llama.cpp's log is captured by default (umpire_set_llama_log(CAPTURE)): nothing printed, and a
failed load or decode carries llama.cpp's first error line in the exception. The llama.cpp inside
libumpire is its own (not exported), so this does not touch another llama.cpp in the process.
"""
import ctypes
import math
import os
import threading
from ctypes import POINTER, byref, c_int, c_int32, c_size_t, c_void_p
from dataclasses import dataclass, field
from typing import Dict, Optional

import numpy as np

from . import _arrays
from . import _lib as L
from .calibration import Calibration
from .samples import Item, _Builder, _item_from_c, _path, _text
from .scoring import _registry

_log_lock = threading.Lock()
_log_mode = None


def set_llama_log(mode):
    """llama.cpp's log inside libumpire: "capture" (quiet; errors carry its detail), "stderr"
    (also every line to stderr) or "host" (llama.cpp's default: printed)."""
    global _log_mode
    if mode not in L.LLAMA_LOG:
        raise ValueError("log: expected one of %s, got %r" % (", ".join(L.LLAMA_LOG), mode))
    with _log_lock:
        if _log_mode != mode:
            L.lib().umpire_set_llama_log(L.LLAMA_LOG[mode])
            _log_mode = mode


def model_info(model, mmproj=None):
    """What a GGUF model (and projector) is: a dict of description, architecture, n_params,
    size_bytes, n_embd, n_layer, n_ctx_train, n_vocab, has_chat_template, vision, audio."""
    paths = (_path(model, "model"), None if mmproj is None else _path(mmproj, "mmproj"))
    set_llama_log(_log_mode or "capture")
    info = L.ModelInfo()
    err = L.err_buf()
    L.check(L.lib().umpire_model_info(*paths, byref(info), err), err)
    out = {name: getattr(info, name) for name, _ in L.ModelInfo._fields_}
    for name in ("description", "architecture"):
        out[name] = out[name].decode("utf-8", "replace")
    for name in ("has_chat_template", "vision", "audio"):
        out[name] = bool(out[name])
    return out


@dataclass
class Asked:
    """What Engine.ask returns: the answer (the low-temperature one, or the option letter), the
    item (samples, greedy answer, extra passes), every estimator that applies (NaN where
    undefined) computed with alpha, and with a calibration p_error and the verdict."""
    answer: str
    item: Item
    scores: Dict[str, float]
    alpha: float
    p_error: Optional[float] = None
    verdict: Optional[str] = None
    question: str = field(default="", repr=False)

    @property
    def umpire(self):
        return self.scores.get("umpire", float("nan"))

    @property
    def semantic_volume(self):
        return self.scores.get("semantic_volume", float("nan"))

    @property
    def incoherence(self):
        return self.scores.get("incoherence", float("nan"))

    @property
    def samples(self):
        """The sampled answers' texts."""
        return [s.text for s in self.item.samples]


def _history(b, history):
    """A conversation's earlier turns as a struct umpire_turn array (held by b), and their count."""
    turns = []
    for i, t in enumerate(history or ()):
        role, content = (t.get("role"), t.get("content")) if isinstance(t, dict) else tuple(t)
        if role not in ("user", "assistant"):
            raise ValueError("history[%d].role: expected \"user\" or \"assistant\", got %r" % (i, role))
        if not isinstance(content, str):
            raise ValueError("history[%d].content: expected a string" % i)
        turns.append(L.Turn(b.hold(_text(role, "history[%d].role" % i)),
                            b.hold(_text(content, "history[%d].content" % i))))
    if not turns:
        return None, 0
    arr = b.hold((L.Turn * len(turns))(*turns))
    return ctypes.cast(arr, POINTER(L.Turn)), len(turns)


class Engine:
    """A GGUF model (and projector, for images and audio) loaded once; ask() many questions.
    One thread at a time uses it (calls are serialised); close() or `with` frees it. log: llama.cpp's
    log (set_llama_log; default: as set before, else "capture")."""

    def __init__(self, model, mmproj=None, *, ctx_size=4096, batch_size=512, prefill_block=None, threads=0,
                 n_gpu_layers=-1, k_max=16, reuse_prefix=True, log=None):
        self._e = None
        self._lock = threading.Lock()
        self._keep = [_path(model, "model"), None if mmproj is None else _path(mmproj, "mmproj")]
        values = (_arrays.whole("ctx_size", ctx_size, 256, 1 << 24), _arrays.whole("batch_size", batch_size, 1, 1 << 24),
                  _arrays.whole("threads", threads, 0, 1024), _arrays.whole("n_gpu_layers", n_gpu_layers, -1, 1 << 16),
                  _arrays.whole("k_max", k_max, 1, 64))
        set_llama_log(log or _log_mode or "capture")
        lib = L.lib()
        p = lib.umpire_engine_default_params()
        p.model_path, p.mmproj_path = self._keep
        p.n_ctx, p.n_batch, p.n_threads, p.n_gpu_layers, p.k_max = values
        # the prefill's plan: None, the engine's (the CPU's batch-invariant one where every device
        # is a CPU, else blocks of 64); n, blocks of n positions (at most the batch)
        p.prefill_block = 0 if prefill_block is None else _arrays.whole("prefill_block", prefill_block, 1, p.n_batch)
        # the prefix cache: True, exact (a cold prefill's numbers bit for bit); "tokens", token by
        # token in batches of batch_size (to rounding); False, off
        if reuse_prefix not in (True, False, "tokens"):
            raise ValueError(f"reuse_prefix: True, False or 'tokens', got {reuse_prefix!r}")
        p.reuse_prefix = 2 if reuse_prefix == "tokens" else 1 if reuse_prefix else 0
        self.model, self.mmproj, self.k_max = model, mmproj, p.k_max
        e = c_void_p()
        err = L.err_buf()
        L.check(lib.umpire_engine_open(byref(p), byref(e), err), err)
        self._e = e

    def close(self):
        with self._lock:
            if self._e is not None:
                L.lib().umpire_engine_close(self._e)
                self._e = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        if self.__dict__.get("_e") is not None and L._lib is not None:
            L._lib.umpire_engine_close(self._e)
            self._e = None

    def _handle(self):
        if self._e is None:
            raise ValueError("the engine is closed")
        return self._e

    @property
    def n_embd(self):
        """The hidden-state width (the length of phi)."""
        with self._lock:
            return int(L.lib().umpire_engine_n_embd(self._handle()))

    def stats(self):
        """Prompt tokens asked for and reused from the KV cache, answer tokens fed, decode rows."""
        s = L.EngineStats()
        with self._lock:
            L.lib().umpire_engine_stats(self._handle(), byref(s))
        return {name: int(getattr(s, name)) for name, _ in L.EngineStats._fields_}

    def ask(self, question, *, images=(), audio=(), system=None, history=(), instruction=None, prompt_style="suffix",
            k=5, seed=0, max_tokens=256, temp=1.0, top_p=0.9, top_k=0, greedy_temp=0.1, stop=(),
            raw_probs=False, middle_layer=False, options=None, choice_temp=1.0, p_true=False, verbalised=False,
            entailment=False, responses=None, finish=None, alpha=None, calibration=None, id=None):
        """Ask a question (with images / audio through the projector) as `umpire ask` does:
        k sampled answers (temp, top_p, top_k; seeded), the answer at greedy_temp, and every
        score. options: 2..26 multiple-choice option texts. responses: answers produced
        elsewhere (texts, or token-id lists) teacher-forced instead of sampling (the black-box
        proxy; finish: how each ended). alpha: V's weight (default 1, or the calibration's).
        calibration: a Calibration (or its path): p_error and verdict, the score computed as it
        was fitted. k = 0 (the low-temperature answer only) or 1: the single-answer scores only.
        history: the conversation's earlier turns, oldest first, as (role, text) pairs or
        {"role", "content"} dicts, role "user" or "assistant" (put through the chat template
        before the question). Returns an Asked."""
        # every argument checked before the library is called
        b = _Builder()
        if not isinstance(question, str):
            raise ValueError("question: expected a string")
        q = L.Query()
        q.question = b.hold(_text(question, "question"))
        q.system = None if system is None else b.hold(_text(system, "system"))
        q.history, q.n_history = _history(b, history)
        q.instruction = None if instruction is None else b.hold(_text(instruction, "instruction"))
        if prompt_style not in L.PROMPT_STYLES:
            raise ValueError("prompt_style: expected one of %s, got %r" % (", ".join(L.PROMPT_STYLES), prompt_style))
        q.style = L.PROMPT_STYLES.index(prompt_style)
        one = (str, bytes, os.PathLike)
        images = [images] if isinstance(images, one) else list(images)
        audio = [audio] if isinstance(audio, one) else list(audio)
        q.images, q.n_images = b.strings([_media(x, "images[%d]" % i) for i, x in enumerate(images)], "images")
        q.audio, q.n_audio = b.strings([_media(x, "audio[%d]" % i) for i, x in enumerate(audio)], "audio")
        k = _arrays.whole("k", k, 0, 64)
        seed = _arrays.whole("seed", seed, 0, 2 ** 64 - 1)
        max_tokens = _arrays.whole("max_tokens", max_tokens, 1, 1 << 16)
        top_k = _arrays.whole("top_k", top_k, 0, 1 << 24)
        temps = [_arrays.number(name, v, lambda x: 0 <= x < math.inf, "a number >= 0")
                 for name, v in (("temp", temp), ("top_p", top_p), ("greedy_temp", greedy_temp))]
        choice_temp = _arrays.number("choice_temp", choice_temp, lambda x: 0 < x < math.inf, "a number > 0")
        if alpha is not None:
            alpha = _arrays.number("alpha", alpha, lambda x: 0 <= x < math.inf, "a number >= 0")
        stop = [stop] if isinstance(stop, str) else list(stop)
        stops, n_stop = b.strings(stop, "stop")
        if options is not None:
            options = [options] if isinstance(options, str) else list(options)
            if not 2 <= len(options) <= 26:
                raise ValueError("options: give 2..26 options, got %d" % len(options))
            opt_arr, n_options = b.strings(options, "options")
        else:
            opt_arr, n_options = None, 0
        force = None if responses is None else self._responses(b, responses, finish)
        if calibration is not None and not isinstance(calibration, Calibration):
            calibration = Calibration.load(calibration)
        cal = calibration

        lib = L.lib()
        sp = lib.umpire_sample_default_params()
        sp.k, sp.seed, sp.max_tokens, sp.top_k = k, seed, max_tokens, top_k
        sp.temp, sp.top_p, sp.greedy_temp = temps
        sp.stop, sp.n_stop = (stops, n_stop) if stop else (None, 0)
        sp.sampler_probs = 0 if raw_probs else 1
        sp.middle = int(bool(middle_layer))
        fp = lib.umpire_force_default_params()
        fp.middle = sp.middle
        judge = lib.umpire_judge_default_params()
        judge.p_true, judge.verbalised, judge.entailment = int(bool(p_true)), int(bool(verbalised)), int(bool(entailment))

        # the score's definition: the calibration's, refusing what contradicts it (as umpire ask)
        probs = L.PROBS.index("raw") if responses is not None or raw_probs else L.PROBS.index("sampler")
        p = lib.umpire_score_default_params()
        p.alpha = 1.0 if alpha is None else alpha
        if cal is not None:
            if cal.estimator not in [r.name for r in _registry()]:
                raise ValueError("calibration: estimator %r is not one umpire computes" % cal.estimator)
            cdef = getattr(cal._c, "def")
            mine = L.ScoreDef(1, p.alpha if alpha is not None else cdef.alpha, p.eps, p.length_normalised, probs,
                              p.cluster_threshold, p.kle_t)
            err = L.err_buf()
            if lib.umpire_score_def_compare(cal._c.estimator, byref(cdef), byref(mine), err) != 0:
                raise L.InvalidInputError("the calibration was fitted on another score (%s)"
                                          % err.value.decode("utf-8", "replace"), L.EINVAL)
            p = lib.umpire_score_def_params(byref(cdef))

        # multiple choice: the samples are drawn with the options in the prompt
        sq = L.Query.from_buffer_copy(q)
        if n_options:
            sq.question = b.hold(_take_bytes(lib.umpire_choice_question(q.question, opt_arr, n_options)))
            sq.instruction = b""
            sq.answer_prefix = L.CHOICE_PREFIX

        item = L.Item()
        err = L.err_buf()
        with self._lock:
            e = self._handle()
            try:
                if force is None:
                    rc = lib.umpire_engine_ask(e, byref(sq), byref(sp), byref(item), err)
                elif force[0] == "tokens":
                    _, toks, lens, n, fp.finish = force
                    rc = lib.umpire_engine_force_tokens(e, byref(sq), toks, lens, n, byref(fp), byref(item), err)
                else:
                    _, texts, n, fp.finish = force
                    rc = lib.umpire_engine_force_texts(e, byref(sq), texts, n, byref(fp), byref(item), err)
                L.check(rc, err)
                L.check(lib.umpire_engine_judge(e, byref(q), byref(judge), byref(item), err), err)
                if n_options:
                    L.check(lib.umpire_engine_choose(e, byref(q), opt_arr, n_options, float(choice_temp),
                                                     byref(item.choice), None, err), err)
                    item.extras |= L.HAS_CHOICE
                it = _item_from_c(item)
                if id is not None:
                    it.id = str(id)
                # every estimator, as umpire ask: those that apply to the item's log-probs; with one
                # answer only those the library computes without samples (k = 0): a spread of one
                # answer is no measurement (umpire ask prints them, with a note)
                raw = L.PROBS.index("raw")
                used = raw if p.probs == raw else item.probs
                probe = L.Item.from_buffer_copy(item)
                if probe.k < 2:
                    probe.k = 0
                scores = {r.name: lib.umpire_score_item(byref(item), ei, p.alpha, byref(p))
                          for ei, r in enumerate(_registry()) if lib.umpire_estimator_applies(byref(probe), ei, used)}
            finally:
                lib.umpire_item_free(byref(item))
        if n_options:
            ch = it.choice
            answer = ch.letter if ch.letter is not None else "?"
        else:
            answer = it.greedy.text if it.greedy is not None else it.samples[0].text if it.samples else ""
        p_error = verdict = None
        if cal is not None:
            s = scores.get(cal.estimator, float("nan"))
            p_error = float(lib.umpire_calibration_apply(byref(cal._c), s))
            if cal.threshold is not None:
                verdict = "answer" if math.isfinite(s) and s <= cal._c.threshold else "escalate"
        return Asked(answer, it, scores, p.alpha, p_error, verdict, question)

    @staticmethod
    def _responses(b, responses, finish):
        """Answers given elsewhere, checked: ("texts", texts, n, finish) or ("tokens", rows,
        lengths, n, finish); finish a C array of umpire_finish, or None (each ended by itself)."""
        responses = list(responses)
        n = len(responses)
        if not 1 <= n <= 64:
            raise ValueError("responses: give 1..64 answers, got %d" % n)
        fin = None
        if finish is not None:
            finish = [finish] * n if isinstance(finish, str) else list(finish)
            if len(finish) != n or any(f not in L.FINISH[1:] for f in finish):
                raise ValueError("finish: expected %d of \"eos\", \"stop\", \"length\", one per response" % n)
            fin = ctypes.cast(b.hold((c_int * n)(*[L.FINISH.index(f) for f in finish])), POINTER(c_int))
        if all(isinstance(r, str) for r in responses):
            texts, _ = b.strings(responses, "responses")
            return ("texts", texts, n, fin)
        rows = []
        for i, r in enumerate(responses):
            t = np.asarray(r)
            if t.ndim != 1 or t.size == 0 or t.dtype.kind not in "iu" or (t < 0).any() or \
                    (t > np.iinfo(np.int32).max).any():
                raise ValueError("responses[%d]: expected a text, or a non-empty list of token ids" % i)
            rows.append(b.ints(t))
        toks = b.hold((POINTER(c_int32) * n)(*rows))
        lens = b.hold((c_size_t * n)(*[len(r) for r in responses]))
        return ("tokens", ctypes.cast(toks, POINTER(POINTER(c_int32))), ctypes.cast(lens, POINTER(c_size_t)), n, fin)


def _media(path, what):
    """A media path as str (from str, bytes or os.PathLike)."""
    return os.fsdecode(_path(path, what))


def _take_bytes(ptr):
    if not ptr:
        raise L.UmpireMemoryError("out of memory", L.ENOMEM)
    try:
        return ctypes.string_at(ptr)
    finally:
        L.lib().umpire_free(ptr)

