"""hf.py - sample sets from a Hugging Face `generate` output, as UMPIRE's reference code takes them.

With `do_sample=True, num_return_sequences=k, output_hidden_states=True, output_scores=True,
return_dict_in_generate=True`, HF returns, for batch questions:
  outputs.sequences       (batch*k, prompt + T) token ids, padded after each answer's EOS;
  outputs.hidden_states   a tuple over the T generated steps of tuples over the layers (the last
                          after the final norm) of (batch*k, seq, d) tensors; step 0 holds the
                          prompt (seq = prompt length), later steps one position;
and compute_transition_scores(sequences, scores, normalize_logits=True) gives the (batch*k, T)
log-probs of the drawn tokens under the processed (tempered, top-p) distribution, with
meaningless values after EOS. Answer i has L_i tokens: up to and including its first EOS (T when
it was cut). Its phi is the last layer's state at the last position of step L_i - 1, the decode
whose output drew its last token (DESIGN.md); its log-probs are row i's first L_i values.
Rows b*k .. b*k + k - 1 are question b's answers (HF keeps a question's samples together).
"""
import numpy as np

from . import _arrays
from .samples import Answer, Item


def _eos_set(eos_token_id):
    ids = [eos_token_id] if np.ndim(eos_token_id) == 0 else list(eos_token_id)
    if not ids or any(int(i) != i or i < 0 for i in ids):
        raise ValueError("eos_token_id: expected a token id or a list of them, got %r" % (eos_token_id,))
    return np.array([int(i) for i in ids])


def items_from_generate(hidden_states, logprobs, sequences, *, k, eos_token_id, texts=None, ids=None,
                        probs="sampler"):
    """Items (one per question) from HF generate's outputs.hidden_states, the transition scores
    (log-probs, batch*k x T) and outputs.sequences; k answers per question. texts: the batch*k
    decoded answers (tokenizer.batch_decode(sequences[:, -T:], skip_special_tokens=True)), or
    None; ids: one per question, or None (q0, q1, ...). probs: which distribution the log-probs
    are of ("sampler" for compute_transition_scores of outputs.scores, "raw" for
    outputs.logits)."""
    lp = _arrays.real(logprobs, "logprobs")
    if lp.ndim != 2:
        raise ValueError("logprobs: expected the (batch*k, T) transition scores, got shape %s" % (lp.shape,))
    rows, T = lp.shape
    k = int(k)
    if k < 1 or rows % k:
        raise ValueError("k: %d rows of logprobs are not a whole number of questions with k = %d" % (rows, k))
    seq = np.asarray(_arrays.to_numpy(sequences))
    if seq.ndim != 2 or seq.shape[0] != rows or seq.shape[1] < T or seq.dtype.kind not in "iu":
        raise ValueError("sequences: expected (batch*k, prompt + T) = (%d, >= %d) token ids, got shape %s dtype %s"
                         % (rows, T, seq.shape, seq.dtype))
    if not isinstance(hidden_states, (tuple, list)) or len(hidden_states) < T:
        raise ValueError("hidden_states: expected a tuple of %d generation steps (each a tuple over layers)" % T)
    generated = seq[:, seq.shape[1] - T:]
    is_eos = np.isin(generated, _eos_set(eos_token_id))
    lengths = np.where(is_eos.any(axis=1), is_eos.argmax(axis=1) + 1, T)

    phi = None
    for t in np.unique(lengths - 1):  # only the steps some answer ends at
        step = hidden_states[t]
        if not isinstance(step, (tuple, list)) or not step:
            raise ValueError("hidden_states[%d]: expected a tuple over layers" % t)
        last = step[-1]
        if len(np.shape(last)) != 3 or np.shape(last)[0] != rows:
            raise ValueError("hidden_states[%d][-1]: expected (batch*k, seq, d) = (%d, ., .), got shape %s"
                             % (t, rows, np.shape(last)))
        h = _arrays.real(last[:, -1, :], "hidden_states[%d][-1]" % t, np.float32)
        if phi is None:
            phi = np.zeros((rows, h.shape[1]), dtype=np.float32)
        elif h.shape[1] != phi.shape[1]:
            raise ValueError("hidden_states[%d][-1]: width %d, other steps %d" % (t, h.shape[1], phi.shape[1]))
        pick = lengths - 1 == t
        phi[pick] = h[pick]

    if texts is not None:
        texts = list(texts)
        if len(texts) != rows:
            raise ValueError("texts: %d, expected one per row (%d)" % (len(texts), rows))
    n_questions = rows // k
    if ids is not None:
        ids = list(ids)
        if len(ids) != n_questions:
            raise ValueError("ids: %d, expected one per question (%d)" % (len(ids), n_questions))
    items = []
    for b in range(n_questions):
        samples = []
        for i in range(b * k, (b + 1) * k):
            where = "logprobs[%d]" % i
            samples.append(Answer(texts[i] if texts is not None else None,
                                  _arrays.token_values(lp[i, : lengths[i]], where, "logprobs"),
                                  embedding=phi[i], tokens=generated[i, : lengths[i]].astype(np.int32),
                                  finish="eos" if is_eos[i].any() else "length"))
        items.append(Item(str(ids[b]) if ids is not None else "q%d" % b, samples, probs=probs))
    return items
