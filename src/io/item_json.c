/* item_json.c - write an item in the sample-set format, so that what the engine produced can
 * be stored, scored again by `umpire score`, or read by Python. */
#include "io/item_json.h"

#include <math.h>

static cJSON *doubles(const double *v, size_t n) {
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

static cJSON *answer_json(const struct umpire_answer *a, size_t dim) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "text", a->text ? a->text : "");
    if (a->tokens) {
        cJSON *t = cJSON_AddArrayToObject(o, "tokens");
        for (size_t i = 0; i < a->n_tokens; i++)
            cJSON_AddItemToArray(t, cJSON_CreateNumber(a->tokens[i]));
    }
    cJSON_AddItemToObject(o, "logprobs", doubles(a->logprobs, a->n_tokens));
    if (a->entropies)
        cJSON_AddItemToObject(o, "entropies", doubles(a->entropies, a->n_tokens));
    if (a->embedding && dim) {
        cJSON *e = cJSON_AddArrayToObject(o, "embedding");
        for (size_t i = 0; i < dim; i++)
            cJSON_AddItemToArray(e, cJSON_CreateNumber(a->embedding[i]));
    }
    return o;
}

cJSON *umpire_item_to_json(const struct umpire_item *it) {
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    if (it->id)
        cJSON_AddStringToObject(o, "id", it->id);
    cJSON *s = cJSON_AddArrayToObject(o, "samples");
    for (size_t i = 0; i < it->k; i++)
        cJSON_AddItemToArray(s, answer_json(&it->samples[i], it->dim));
    if (it->greedy.logprobs)
        cJSON_AddItemToObject(o, "greedy", answer_json(&it->greedy, it->dim));
    if (it->correct >= 0)
        cJSON_AddBoolToObject(o, "correct", it->correct);
    if (it->extras & UMPIRE_HAS_P_TRUE)
        cJSON_AddNumberToObject(o, "p_true", it->p_true);
    if (it->extras & UMPIRE_HAS_VERBALISED)
        cJSON_AddNumberToObject(o, "verbalised", it->verbalised);
    if ((it->extras & UMPIRE_HAS_ENTAILMENT) && it->entailment) {
        cJSON *m = cJSON_AddArrayToObject(o, "entailment");
        for (size_t i = 0; i < it->k; i++)
            cJSON_AddItemToArray(m, doubles(it->entailment + i * it->k, it->k));
    }
    return o;
}
