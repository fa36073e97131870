"""_lib.py - finding libumpire.so, its structs and functions in ctypes, and its errors.

The structs mirror include/umpire.h field for field (tests/test_abi.py compiles a probe that
checks every size and offset against the header). Which library is loaded, in order:
  1. the file named by the environment variable UMPIRE_LIBRARY (an error if it does not load);
  2. libumpire.so.0.2 (or libumpire.so) in this package's own folder, for a copy placed there;
  3. libumpire.so.0.2 through the system loader (`cmake --install`, LD_LIBRARY_PATH).
The soname carries the minor version because any 0.x minor may change the ABI; the version the
library reports is checked against the one these bindings were written for.
"""
import ctypes
import os
import threading
from ctypes import (POINTER, Structure, c_char, c_char_p, c_double, c_float, c_int, c_int32, c_size_t,
                    c_uint, c_uint64, c_void_p)

from ._version import __version__

ABI = tuple(int(x) for x in __version__.split(".")[:2])  # (0, 2): what these bindings match
SONAME = "libumpire.so.%d.%d" % ABI
ERR_LEN = 256

# enum umpire_status
OK, EINVAL, ENOMEM, EIO, ENUM = 0, -1, -2, -3, -4


class UmpireError(Exception):
    """A negative status from libumpire; `status` is the code, the message is the library's."""

    def __init__(self, message, status=EINVAL):
        super().__init__(message)
        self.status = status


class InvalidInputError(UmpireError, ValueError):
    """UMPIRE_EINVAL: a bad argument or malformed input (the message names file, line, field)."""


class UmpireIOError(UmpireError, OSError):
    """UMPIRE_EIO: a file could not be read or written."""


class UmpireMemoryError(UmpireError, MemoryError):
    """UMPIRE_ENOMEM: out of memory."""


class NumericalError(UmpireError, ArithmeticError):
    """UMPIRE_ENUM: a numerical routine failed."""


_ERRORS = {EINVAL: InvalidInputError, EIO: UmpireIOError, ENOMEM: UmpireMemoryError, ENUM: NumericalError}


def err_buf():
    return ctypes.create_string_buffer(ERR_LEN)


def check(rc, err, what=None):
    """Raise the exception of a negative status, carrying the library's message."""
    if rc >= 0:
        return rc
    msg = err.value.decode("utf-8", "replace") if err is not None else ""
    if not msg:
        msg = "libumpire failed with status %d" % rc
    if what:
        msg = "%s: %s" % (what, msg)
    raise _ERRORS.get(rc, UmpireError)(msg, rc)


# ------------------------------------------------------------------ enums (umpire.h)
PROBS = ("unspecified", "raw", "sampler")                      # enum umpire_probs
FINISH = (None, "eos", "stop", "length")                       # enum umpire_finish
SPLIT_UMPIRE, SPLIT_NUMPY = 0, 1                               # enum umpire_split
CAL_METHODS = ("minmax", "platt", "isotonic", "histogram")     # enum umpire_calibration_method
PROMPT_STYLES = ("suffix", "reference")                        # enum umpire_prompt_style
LLAMA_LOG = {"host": 0, "capture": 1, "stderr": 2}             # enum umpire_llama_log
HAS_P_TRUE, HAS_VERBALISED, HAS_ENTAILMENT, HAS_CHOICE, HAS_GRADIENTS = 1, 2, 4, 8, 16  # enum umpire_extra
NEEDS = {"embedding": 1, "greedy": 2, "entropies": 4, "p_true": 8, "verbalised": 16,  # enum umpire_need
         "entailment": 32, "middle": 64, "choice": 128, "raw": 256, "gradients": 512}
N_METRICS = 15  # UMPIRE_N_METRICS of the header these bindings follow (the library says its own)
CHOICE_PREFIX = b"Answer: ("  # UMPIRE_CHOICE_PREFIX

# The enum constants as the header names them, for the ABI probe.
ENUM_CONSTANTS = {
    "UMPIRE_OK": OK, "UMPIRE_EINVAL": EINVAL, "UMPIRE_ENOMEM": ENOMEM, "UMPIRE_EIO": EIO, "UMPIRE_ENUM": ENUM,
    "UMPIRE_ECANCELED": -5, "UMPIRE_EBUSY": -6,
    "UMPIRE_PROBS_UNSPECIFIED": 0, "UMPIRE_PROBS_RAW": 1, "UMPIRE_PROBS_SAMPLER": 2,
    "UMPIRE_FINISH_UNKNOWN": 0, "UMPIRE_FINISH_EOS": 1, "UMPIRE_FINISH_STOP": 2, "UMPIRE_FINISH_LENGTH": 3,
    "UMPIRE_SPLIT_UMPIRE": SPLIT_UMPIRE, "UMPIRE_SPLIT_NUMPY": SPLIT_NUMPY,
    "UMPIRE_CAL_MINMAX": 0, "UMPIRE_CAL_PLATT": 1, "UMPIRE_CAL_ISOTONIC": 2, "UMPIRE_CAL_HISTOGRAM": 3,
    "UMPIRE_PROMPT_SUFFIX": 0, "UMPIRE_PROMPT_REFERENCE": 1,
    "UMPIRE_LLAMA_LOG_HOST": 0, "UMPIRE_LLAMA_LOG_CAPTURE": 1, "UMPIRE_LLAMA_LOG_STDERR": 2,
    "UMPIRE_HAS_P_TRUE": HAS_P_TRUE, "UMPIRE_HAS_VERBALISED": HAS_VERBALISED,
    "UMPIRE_HAS_ENTAILMENT": HAS_ENTAILMENT, "UMPIRE_HAS_CHOICE": HAS_CHOICE, "UMPIRE_HAS_GRADIENTS": HAS_GRADIENTS,
    "UMPIRE_NEEDS_EMBEDDING": 1, "UMPIRE_NEEDS_GREEDY": 2, "UMPIRE_NEEDS_ENTROPIES": 4,
    "UMPIRE_NEEDS_P_TRUE": 8, "UMPIRE_NEEDS_VERBALISED": 16, "UMPIRE_NEEDS_ENTAILMENT": 32,
    "UMPIRE_NEEDS_MIDDLE": 64, "UMPIRE_NEEDS_CHOICE": 128, "UMPIRE_NEEDS_RAW": 256, "UMPIRE_NEEDS_GRADIENTS": 512,
    "UMPIRE_N_METRICS": N_METRICS, "UMPIRE_ERR_LEN": ERR_LEN,
}


# ------------------------------------------------------------------ structs (umpire.h)
class Answer(Structure):
    _fields_ = [("text", c_char_p), ("tokens", POINTER(c_int32)), ("logprobs", POINTER(c_double)),
                ("n_tokens", c_size_t), ("entropies", POINTER(c_double)), ("raw_logprobs", POINTER(c_double)),
                ("raw_entropies", POINTER(c_double)), ("embedding", POINTER(c_float)),
                ("middle", POINTER(c_float)), ("finish", c_int)]


class Choice(Structure):
    _fields_ = [("n", c_size_t), ("choice", c_size_t), ("confidence", c_double), ("temp", c_double),
                ("p", c_double * 26), ("token", c_int32 * 26), ("step", c_int)]


class Item(Structure):
    _fields_ = [("id", c_char_p), ("samples", POINTER(Answer)), ("k", c_size_t), ("dim", c_size_t),
                ("dim_middle", c_size_t), ("middle_layer", c_int), ("probs", c_int), ("greedy", Answer),
                ("correct", c_int), ("line", c_size_t), ("extras", c_uint), ("p_true", c_double),
                ("verbalised", c_double), ("entailment", POINTER(c_double)), ("choice", Choice),
                ("semgrad", c_double), ("exgrad", c_double), ("hybridgrad", c_double)]


class SampleSet(Structure):
    _fields_ = [("items", POINTER(Item)), ("n", c_size_t), ("n_warnings", c_size_t),
                ("warning", c_char * ERR_LEN)]


class Turn(Structure):
    _fields_ = [("role", c_char_p), ("content", c_char_p)]


class DatasetItem(Structure):
    _fields_ = [("id", c_char_p), ("question", c_char_p), ("images", POINTER(c_char_p)),
                ("audio", POINTER(c_char_p)), ("n_images", c_size_t), ("n_audio", c_size_t),
                ("answers", POINTER(c_char_p)), ("n_answers", c_size_t), ("choices", POINTER(c_char_p)),
                ("n_choices", c_size_t), ("answerable", c_int), ("group", c_char_p), ("line", c_size_t),
                ("description", c_char_p), ("history", POINTER(Turn)), ("n_history", c_size_t),
                ("video", c_char_p), ("frames", c_int)]


class Dataset(Structure):
    _fields_ = [("items", POINTER(DatasetItem)), ("n", c_size_t)]


class Estimator(Structure):
    _fields_ = [("name", c_char_p), ("formula", c_char_p), ("needs", c_uint)]


class ScoreParams(Structure):
    _fields_ = [("eps", c_double), ("alpha", c_double), ("dev_fraction", c_double), ("split", c_int),
                ("seed", c_uint64), ("length_normalised", c_int), ("probs", c_int),
                ("cluster_threshold", c_double), ("kle_t", c_double)]


class Scores(Structure):
    _fields_ = [("n", c_size_t), ("n_estimators", c_size_t), ("scores", POINTER(c_double)), ("probs", c_int),
                ("alpha", c_double), ("dev_idx", POINTER(c_size_t)), ("n_dev", c_size_t)]


class ScoreDef(Structure):
    _fields_ = [("known", c_int), ("alpha", c_double), ("eps", c_double), ("length_normalised", c_int),
                ("probs", c_int), ("cluster_threshold", c_double), ("kle_t", c_double)]


class MetricParams(Structure):
    _fields_ = [("ece_bins", c_size_t), ("cpc_bins", c_size_t), ("cece_bins", c_size_t),
                ("cal_fraction", c_double), ("split", c_int), ("split_seed", c_uint64), ("seed", c_uint64),
                ("bootstrap", c_size_t), ("ci", c_double)]


class MetricReport(Structure):
    _fields_ = [("n_metrics", c_size_t), ("value", POINTER(c_double)), ("lo", POINTER(c_double)),
                ("hi", POINTER(c_double)), ("n", c_size_t), ("n_wrong", c_size_t)]


class Comparison(Structure):
    _fields_ = [("a", MetricReport), ("b", MetricReport), ("diff", MetricReport), ("n", c_size_t),
                ("accuracy_a", c_double), ("accuracy_b", c_double), ("accuracy_diff_lo", c_double),
                ("accuracy_diff_hi", c_double)]


class Idk(Structure):
    _fields_ = [("n_answerable", c_size_t), ("n_unanswerable", c_size_t), ("accuracy_answerable", c_double),
                ("refusal_recall", c_double), ("over_answering", c_double), ("over_refusal", c_double),
                ("accuracy_answerable_ci", c_double * 2), ("refusal_recall_ci", c_double * 2),
                ("over_answering_ci", c_double * 2), ("over_refusal_ci", c_double * 2)]


class Calibration(Structure):
    _fields_ = [("method", c_int), ("estimator", c_char * 64), ("def", ScoreDef), ("n", c_size_t),
                ("lo", c_double), ("hi", c_double), ("a", c_double), ("b", c_double),
                ("x", POINTER(c_double)), ("y", POINTER(c_double)), ("n_points", c_size_t),
                ("risk", c_double), ("delta", c_double), ("threshold", c_double), ("risk_bound", c_double),
                ("n_answered", c_size_t)]


class EngineParams(Structure):
    _fields_ = [("model_path", c_char_p), ("mmproj_path", c_char_p), ("n_ctx", c_int), ("n_batch", c_int),
                ("prefill_block", c_int), ("n_threads", c_int), ("n_gpu_layers", c_int), ("k_max", c_int), ("reuse_prefix", c_int),
                ("n_slots", c_int)]


class EngineStats(Structure):
    _fields_ = [("prompt_tokens", c_uint64), ("reused_tokens", c_uint64), ("answer_tokens", c_uint64),
                ("decoded_rows", c_uint64), ("prompt_redecoded", c_uint64)]


class Query(Structure):
    _fields_ = [("question", c_char_p), ("system", c_char_p), ("instruction", c_char_p), ("style", c_int),
                ("images", POINTER(c_char_p)), ("n_images", c_size_t), ("audio", POINTER(c_char_p)),
                ("n_audio", c_size_t), ("answer_prefix", c_char_p), ("image_noise", c_double),
                ("image_noise_seed", c_uint64), ("history", POINTER(Turn)), ("n_history", c_size_t)]


class SampleParams(Structure):
    _fields_ = [("k", c_int), ("seed", c_uint64), ("max_tokens", c_int), ("temp", c_float), ("top_p", c_float),
                ("top_k", c_int), ("greedy_temp", c_float), ("stop", POINTER(c_char_p)), ("n_stop", c_size_t),
                ("sampler_probs", c_int), ("middle", c_int), ("dedup", c_int), ("with_greedy", c_int)]


class ForceParams(Structure):
    _fields_ = [("finish", POINTER(c_int)), ("middle", c_int)]


class JudgeParams(Structure):
    _fields_ = [("p_true", c_int), ("verbalised", c_int), ("entailment", c_int)]


class ModelInfo(Structure):
    _fields_ = [("description", c_char * 128), ("architecture", c_char * 64), ("n_params", c_uint64),
                ("size_bytes", c_uint64), ("n_embd", c_int), ("n_layer", c_int), ("n_ctx_train", c_int),
                ("n_vocab", c_int), ("has_chat_template", c_int), ("vision", c_int), ("audio", c_int)]


# The C name of each struct, for the ABI probe.
C_STRUCTS = {Answer: "umpire_answer", Choice: "umpire_choice", Item: "umpire_item", SampleSet: "umpire_sampleset",
             DatasetItem: "umpire_dataset_item", Dataset: "umpire_dataset", Estimator: "umpire_estimator",
             ScoreParams: "umpire_score_params", Scores: "umpire_scores", ScoreDef: "umpire_score_def",
             MetricParams: "umpire_metric_params", MetricReport: "umpire_metric_report",
             Comparison: "umpire_comparison", Idk: "umpire_idk",
             Calibration: "umpire_calibration", EngineParams: "umpire_engine_params",
             EngineStats: "umpire_engine_stats", Turn: "umpire_turn", Query: "umpire_query", SampleParams: "umpire_sample_params",
             ForceParams: "umpire_force_params", JudgeParams: "umpire_judge_params",
             ModelInfo: "umpire_model_info"}

# ------------------------------------------------------------------ functions: (name, restype, argtypes)
P = POINTER
_ERR = POINTER(c_char)  # char *err: a buffer of ERR_LEN bytes (err_buf())
_FUNCTIONS = [
    ("umpire_version", c_char_p, []),
    ("umpire_llama_tag", c_char_p, []),
    ("umpire_ggml_version", c_char_p, []),
    ("umpire_probs_name", c_char_p, [c_int]),
    ("umpire_sampleset_read", c_int, [c_char_p, P(SampleSet), _ERR]),
    ("umpire_sampleset_free", None, [P(SampleSet)]),
    ("umpire_item_to_jsonl", c_void_p, [P(Item)]),
    ("umpire_sampleset_write", c_int, [c_char_p, P(SampleSet), _ERR]),
    ("umpire_free", None, [c_void_p]),
    ("umpire_item_free", None, [P(Item)]),
    ("umpire_dataset_read", c_int, [c_char_p, P(Dataset), _ERR]),
    ("umpire_dataset_read_grouped", c_int, [c_char_p, c_char_p, P(Dataset), _ERR]),
    ("umpire_dataset_free", None, [P(Dataset)]),
    ("umpire_semantic_volume", c_int, [P(c_float), c_size_t, c_size_t, c_double, P(c_double), _ERR]),
    ("umpire_estimators", P(Estimator), [P(c_size_t)]),
    ("umpire_estimator_index", c_int, [c_char_p]),
    ("umpire_score_default_params", ScoreParams, []),
    ("umpire_score_set", c_int, [P(SampleSet), P(ScoreParams), P(Scores), _ERR]),
    ("umpire_scores_free", None, [P(Scores)]),
    ("umpire_score_def_of", ScoreDef, [P(ScoreParams), P(Scores)]),
    ("umpire_score_def_params", ScoreParams, [P(ScoreDef)]),
    ("umpire_score_def_compare", c_int, [c_char_p, P(ScoreDef), P(ScoreDef), _ERR]),
    ("umpire_estimator_applies", c_int, [P(Item), c_size_t, c_int]),
    ("umpire_score_item", c_double, [P(Item), c_size_t, c_double, P(ScoreParams)]),
    ("umpire_scores_undefined", c_size_t, [P(SampleSet), P(Scores), c_size_t, P(c_size_t)]),
    ("umpire_metric_name", c_char_p, [c_int]),
    ("umpire_metric_default_params", MetricParams, []),
    ("umpire_metric_count", c_size_t, []),
    ("umpire_metric_report_free", None, [P(MetricReport)]),
    ("umpire_metrics_compute", c_int, [P(c_double), P(c_int), c_size_t, P(MetricParams), P(MetricReport), _ERR]),
    ("umpire_metrics_compare", c_int, [P(c_double), P(c_int), P(c_double), P(c_int), c_size_t, P(MetricParams),
                                       P(Comparison), _ERR]),
    ("umpire_comparison_free", None, [P(Comparison)]),
    ("umpire_idk_rates", None, [P(c_int), P(c_int), P(c_int), c_size_t, P(Idk)]),
    ("umpire_metrics_cece_split", c_int, [c_size_t, P(MetricParams), P(c_size_t), P(c_size_t), _ERR]),
    ("umpire_calibration_fit", c_int, [P(c_double), P(c_int), c_size_t, c_int, c_size_t, P(Calibration), _ERR]),
    ("umpire_calibration_apply", c_double, [P(Calibration), c_double]),
    ("umpire_calibration_free", None, [P(Calibration)]),
    ("umpire_calibration_method_name", c_char_p, [c_int]),
    ("umpire_risk_threshold", c_int, [P(c_double), P(c_int), c_size_t, c_double, c_double, P(Calibration), _ERR]),
    ("umpire_calibration_save", c_int, [c_char_p, P(Calibration), _ERR]),
    ("umpire_calibration_load", c_int, [c_char_p, P(Calibration), _ERR]),
    ("umpire_engine_default_params", EngineParams, []),
    ("umpire_engine_open", c_int, [P(EngineParams), P(c_void_p), _ERR]),
    ("umpire_engine_close", None, [c_void_p]),
    ("umpire_engine_n_embd", c_int, [c_void_p]),
    ("umpire_engine_stats", None, [c_void_p, P(EngineStats)]),
    ("umpire_sample_default_params", SampleParams, []),
    ("umpire_engine_ask", c_int, [c_void_p, P(Query), P(SampleParams), P(Item), _ERR]),
    ("umpire_force_default_params", ForceParams, []),
    ("umpire_engine_force_tokens", c_int, [c_void_p, P(Query), P(P(c_int32)), P(c_size_t), c_size_t,
                                           P(ForceParams), P(Item), _ERR]),
    ("umpire_engine_force_texts", c_int, [c_void_p, P(Query), P(c_char_p), c_size_t, P(ForceParams), P(Item),
                                          _ERR]),
    ("umpire_judge_default_params", JudgeParams, []),
    ("umpire_engine_judge", c_int, [c_void_p, P(Query), P(JudgeParams), P(Item), _ERR]),
    ("umpire_engine_choose", c_int, [c_void_p, P(Query), P(c_char_p), c_size_t, c_double, P(Choice), P(c_float),
                                     _ERR]),
    ("umpire_choice_question", c_void_p, [c_char_p, P(c_char_p), c_size_t]),
    ("umpire_model_info", c_int, [c_char_p, c_char_p, P(ModelInfo), _ERR]),
    ("umpire_set_llama_log", None, [c_int]),
]

_lock = threading.Lock()
_lib = None
_path = None


def _candidates():
    env = os.environ.get("UMPIRE_LIBRARY")
    if env:
        return [(env, True)]
    here = os.path.dirname(os.path.abspath(__file__))
    local = [(os.path.join(here, name), False) for name in (SONAME, "libumpire.so")]
    return [c for c in local if os.path.exists(c[0])] + [(SONAME, False)]


def _load():
    tried = []
    for path, required in _candidates():
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            if required:
                raise ImportError("UMPIRE_LIBRARY=%s: cannot load it: %s" % (path, e)) from None
            tried.append("%s (%s)" % (path, e))
            continue
        version = ctypes.CFUNCTYPE(c_char_p)(("umpire_version", lib))().decode()
        if tuple(int(x) for x in version.split(".")[:2]) != ABI:
            raise ImportError("%s is libumpire %s; this umpire package binds libumpire %d.%d (its ABI): use the "
                              "library of the same release" % (path, version, *ABI))
        for name, restype, argtypes in _FUNCTIONS:
            f = getattr(lib, name)
            f.restype = restype
            f.argtypes = argtypes
        return lib, path
    raise ImportError("libumpire not found: set UMPIRE_LIBRARY to the path of libumpire.so (a build tree's "
                      "build/libumpire.so), or install it (cmake --install build) so that the loader finds %s. "
                      "Tried: %s" % (SONAME, "; ".join(tried)))


def lib():
    """The loaded library (loaded on first use)."""
    global _lib, _path
    if _lib is None:
        with _lock:
            if _lib is None:
                _lib, _path = _load()
    return _lib


def library_path():
    """The path libumpire was loaded from (loading it if needed)."""
    lib()
    return _path


def take_string(ptr):
    """A library-allocated char * as str, freed with umpire_free; MemoryError for NULL."""
    if not ptr:
        raise UmpireMemoryError("out of memory", ENOMEM)
    try:
        return ctypes.string_at(ptr).decode("utf-8", "replace")
    finally:
        lib().umpire_free(ptr)


__all__ = ["UmpireError", "InvalidInputError", "UmpireIOError", "UmpireMemoryError", "NumericalError"]
