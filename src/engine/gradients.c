/* gradients.c - an item's gradient scores (SemGrad, ExGrad, HybridGrad): the greedy answer's
 * tokens after the query's prompt, tokenised as the engine's prefill tokenises it, through the
 * own graph (src/grad). */
#include <stdlib.h>
#include <string.h>

#include <llama.h>

#include "core/status.h"
#include "engine/engine.h"
#include "umpire.h"

int umpire_engine_prompt_tokens(struct umpire_engine *e, const struct umpire_query *q,
                                int32_t **tokens, size_t *n, char *err) {
    *tokens = NULL;
    *n = 0;
    if (q->n_images || q->n_audio)
        return umpire_fail(err, UMPIRE_EINVAL,
                           "gradient scores read text prompts only (the own graph takes no media)");
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

int umpire_engine_gradients(struct umpire_engine *e, const struct umpire_grad_model *g,
                            const struct umpire_query *q, const struct umpire_grad_params *p,
                            struct umpire_item *it, char *err) {
    if (!it->greedy.logprobs || !it->greedy.tokens || it->greedy.n_tokens == 0)
        return umpire_fail(err, UMPIRE_EINVAL,
                           "gradient scores need the greedy answer and its tokens");
    int32_t *prompt;
    size_t n_prompt;
    int rc = umpire_engine_prompt_tokens(e, q, &prompt, &n_prompt, err);
    if (rc != UMPIRE_OK)
        return rc;
    const size_t n = n_prompt + it->greedy.n_tokens;
    int32_t *tok = realloc(prompt, n * sizeof *tok);
    if (!tok) {
        free(prompt);
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    }
    memcpy(tok + n_prompt, it->greedy.tokens, it->greedy.n_tokens * sizeof *tok);
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
    struct umpire_grad_scores s;
    rc = umpire_grad_score(g, tok, n, n_prompt, &gp, &s, err);
    if (rc == UMPIRE_OK) {
        it->semgrad = s.semgrad;
        it->exgrad = s.exgrad;
        it->hybridgrad = s.hybridgrad;
        it->extras |= UMPIRE_HAS_GRADIENTS;
    }
    free(tok);
    return rc;
}
