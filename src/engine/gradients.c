/* gradients.c - an item's gradient scores (SemGrad, ExGrad, HybridGrad): the greedy answer's
 * tokens after the query's prompt, tokenised as the engine's prefill tokenises it, through the
 * own graph (src/grad).
 *
 * Images and audio: libmtmd's projector turns each into rows of embeddings, which enter the own
 * graph in place of token embeddings at their positions, one position a row. That is how
 * llava-style models (LLaVA, and every projector whose rows take consecutive 1-D positions and
 * causal attention: the Gemma-3-style bidirectional image attention and Qwen2-VL's M-RoPE are
 * refused by name) read media; the projector itself is llama.cpp's, not differentiated. */
#include <stdlib.h>
#include <string.h>

#include <llama.h>
#include <mtmd-helper.h>
#include <mtmd.h>

#include "core/status.h"
#include "engine/engine.h"
#include "engine/log.h"
#include "grad/api.h"
#include "umpire.h"

int umpire_engine_prompt_tokens(struct umpire_engine *e, const struct umpire_query *q,
                                int32_t **tokens, size_t *n, char *err) {
    *tokens = NULL;
    *n = 0;
    if (q->n_images || q->n_audio)
        return umpire_fail(err, UMPIRE_EINVAL,
                           "the query has media: its prompt is not tokens alone (the gradient scores read "
                           "media rows as embeddings: umpire_engine_gradient_scores)");
    char *text = umpire_engine_prompt_text(e, q, 0);
    if (!text)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    const int len = (int)strlen(text);
    const int n_tok = -llama_tokenize(e->vocab, text, len, NULL, 0, true, true);
    int32_t *tok = n_tok > 0 ? malloc((size_t)n_tok * sizeof *tok) : NULL;
    int rc = UMPIRE_OK;
    if (n_tok <= 0 || !tok ||
        llama_tokenize(e->vocab, text, len, tok, n_tok, true, true) != n_tok) {
        rc = umpire_fail(err, n_tok > 0 && !tok ? UMPIRE_ENOMEM : UMPIRE_EINVAL,
                         "the prompt does not tokenize");
        free(tok);
    } else {
        *tokens = tok;
        *n = (size_t)n_tok;
    }
    free(text);
    return rc;
}

/* A media query's prompt as the own graph reads it: *tok (placeholders 0 at media rows), *at
 * (1 at media rows; n_extra more zeros after the prompt) and *embd (n_prompt rows of n_embd,
 * the media rows' embeddings from the projector). */
static int media_inputs(struct umpire_engine *e, const struct umpire_query *q, size_t n_extra, int32_t **tok,
                        size_t *n, float **embd, unsigned char **at, char *err) {
    *tok = NULL;
    *embd = NULL;
    *at = NULL;
    *n = 0;
    const size_t d = (size_t)e->n_embd;
    int rc = umpire_engine_media_ok(e, q, err);
    if (rc != UMPIRE_OK)
        return rc;
    if (mtmd_decode_use_mrope(e->mctx))
        return umpire_fail(err, UMPIRE_EINVAL, "gradient scores: %s places media with M-RoPE (Qwen2-VL style); "
                           "the own graph has 1-D positions only", e->params.mmproj_path);
    char *text = umpire_engine_prompt_text(e, q, q->n_images + q->n_audio);
    mtmd_input_chunks *chunks = NULL;
    rc = text ? umpire_engine_tokenize_media(e, q, text, &chunks, err) : umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    const size_t total = rc == UMPIRE_OK ? mtmd_helper_get_n_tokens(chunks) : 0;
    if (rc == UMPIRE_OK && (!(*tok = malloc(total * sizeof **tok)) || !(*at = calloc(total + n_extra, 1)) ||
                            !(*embd = malloc(total * d * sizeof **embd))))
        rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory (%zu prompt positions)", total);
    size_t k = 0;
    for (size_t c = 0; rc == UMPIRE_OK && c < mtmd_input_chunks_size(chunks); c++) {
        const mtmd_input_chunk *ch = mtmd_input_chunks_get(chunks, c);
        if (mtmd_input_chunk_get_type(ch) == MTMD_INPUT_CHUNK_TYPE_TEXT) {
            size_t nt = 0;
            const llama_token *t = mtmd_input_chunk_get_tokens_text(ch, &nt);
            for (size_t i = 0; i < nt && k < total; i++)
                (*tok)[k++] = t[i];
            continue;
        }
        const size_t nt = mtmd_input_chunk_get_n_tokens(ch);
        if (mtmd_decode_use_non_causal(e->mctx, ch) || (size_t)mtmd_input_chunk_get_n_pos(ch) != nt) {
            rc = umpire_fail(err, UMPIRE_EINVAL, "gradient scores: %s's media rows attend both ways or do not take "
                             "one position a row; the own graph reads llava-style media only", e->params.mmproj_path);
            break;
        }
        umpire_log_clear();
        const float *rows = mtmd_encode_chunk(e->mctx, ch) == 0 ? mtmd_get_output_embd(e->mctx) : NULL;
        if (!rows || k + nt > total) {
            rc = umpire_fail(err, UMPIRE_EINVAL, "the projector could not encode the media (%s)",
                             umpire_log_last_error());
            break;
        }
        memcpy(*embd + k * d, rows, nt * d * sizeof **embd);
        for (size_t i = 0; i < nt; i++, k++) {
            (*tok)[k] = 0;
            (*at)[k] = 1;
        }
    }
    if (rc == UMPIRE_OK && k != total)
        rc = umpire_fail(err, UMPIRE_EINVAL, "the prompt's chunks hold %zu positions, not %zu", k, total);
    if (rc == UMPIRE_OK) {
        *n = total;
    } else {
        free(*tok);
        free(*at);
        free(*embd);
        *tok = NULL, *at = NULL, *embd = NULL;
    }
    if (chunks)
        mtmd_input_chunks_free(chunks);
    free(text);
    return rc;
}

int umpire_engine_gradient_scores(struct umpire_engine *e, const struct umpire_grad_model *g,
                                  const struct umpire_query *q, const struct umpire_answer *a,
                                  const struct umpire_grad_params *p, struct umpire_grad_scores *s, char *err) {
    if (!a->tokens || a->n_tokens == 0)
        return umpire_fail(err, UMPIRE_EINVAL, "gradient scores need an answer with its tokens");
    int32_t *prompt = NULL;
    float *embd = NULL;
    unsigned char *at = NULL;
    size_t n_prompt = 0;
    int rc = q->n_images || q->n_audio ? media_inputs(e, q, a->n_tokens, &prompt, &n_prompt, &embd, &at, err)
                                       : umpire_engine_prompt_tokens(e, q, &prompt, &n_prompt, err);
    if (rc != UMPIRE_OK)
        return rc;
    const size_t n = n_prompt + a->n_tokens;
    int32_t *tok = realloc(prompt, n * sizeof *tok);
    if (!tok) {
        free(prompt);
        free(embd);
        free(at);
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    }
    memcpy(tok + n_prompt, a->tokens, a->n_tokens * sizeof *tok);
    struct umpire_grad_params gp = *p;
    if (gp.position == 0)
        gp.position = umpire_grad_template_position(llama_model_chat_template(e->model, NULL));
    if (q->answer_prefix && q->answer_prefix[0]) { /* the position counts from the template's end,
                                                      before the text that opens the answer */
        const int n_prefix = -llama_tokenize(e->vocab, q->answer_prefix,
                                             (int)strlen(q->answer_prefix), NULL, 0, false, true);
        if (n_prefix > 0)
            gp.position -= n_prefix;
    }
    rc = grad_score_inputs(g, tok, n, n_prompt, embd, at, &gp, s, err);
    free(tok);
    free(embd);
    free(at);
    return rc;
}

int umpire_engine_gradients(struct umpire_engine *e, const struct umpire_grad_model *g,
                            const struct umpire_query *q, const struct umpire_grad_params *p,
                            struct umpire_item *it, char *err) {
    if (!it->greedy.logprobs || !it->greedy.tokens || it->greedy.n_tokens == 0)
        return umpire_fail(err, UMPIRE_EINVAL,
                           "gradient scores need the greedy answer and its tokens");
    struct umpire_grad_scores s;
    int rc = umpire_engine_gradient_scores(e, g, q, &it->greedy, p, &s, err);
    if (rc == UMPIRE_OK) {
        it->semgrad = s.semgrad;
        it->exgrad = s.exgrad;
        it->hybridgrad = s.hybridgrad;
        it->extras |= UMPIRE_HAS_GRADIENTS;
    }
    return rc;
}
