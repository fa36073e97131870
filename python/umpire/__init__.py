"""umpire: how likely is an LLM's answer wrong? Python bindings of libumpire.

    import umpire
    s = umpire.score(embeddings, logprobs)          # k x d hidden states, k answers' log-probs
    s.umpire, s.semantic_volume, s.incoherence      # V = U + alpha Q (higher: more likely wrong)
    umpire.metrics(scores, wrong=wrong).auroc       # positive = wrong answer
    cal = umpire.Calibration.fit(scores, wrong=wrong, risk=0.1, delta=0.05)
    umpire.Engine("model.gguf").ask("What is the capital of France?", k=5)

The library is found through UMPIRE_LIBRARY, then this package's folder, then the system loader
(libumpire.so.0.2); umpire.library_path() says which was loaded.
"""
from ._lib import (InvalidInputError, NumericalError, UmpireError, UmpireIOError, UmpireMemoryError,
                   library_path)
from ._version import __version__
from .calibration import Calibration
from .engine import Asked, Engine, model_info, set_llama_log
from .hf import items_from_generate
from .metrics import Comparison, IdkRates, Metrics, compare, idk_rates, metric_names, metrics
from .samples import (Answer, Choice, DatasetItem, Item, UmpireWarning, read_dataset, read_samples,
                      write_dataset, write_samples)
from .scoring import (EstimatorInfo, Score, ScoreDefinition, ScoreSet, estimators, score, score_item,
                      score_set)


def version():
    """libumpire's version, the llama.cpp tag and the ggml version it was built with."""
    from . import _lib
    lib = _lib.lib()
    return {"umpire": lib.umpire_version().decode(), "llama.cpp": lib.umpire_llama_tag().decode(),
            "ggml": lib.umpire_ggml_version().decode()}


__all__ = ["Answer", "Asked", "Calibration", "Choice", "Comparison", "IdkRates", "compare", "idk_rates", "DatasetItem", "Engine", "EstimatorInfo",
           "InvalidInputError", "Item", "Metrics", "NumericalError", "Score", "ScoreDefinition", "ScoreSet",
           "UmpireError", "UmpireIOError", "UmpireMemoryError", "UmpireWarning", "__version__", "estimators",
           "items_from_generate", "library_path", "metric_names", "metrics", "model_info", "read_dataset",
           "read_samples", "score", "score_item", "score_set", "set_llama_log", "version", "write_dataset",
           "write_samples"]
