/* item_json.c - write an item in the sample-set format, so that what the engine produced can
 * be stored, scored again by `umpire score`, or read by Python. */
#include "io/item_json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

cJSON *umpire_json_number(double v) {
    if (!isfinite(v))
        return cJSON_CreateNull();
    /* the shortest of 15, 16, 17 significant digits that reads back as the same double (cJSON's
     * own printing accepts a neighbour within an epsilon, which moves values across bin edges) */
    char buf[40];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return cJSON_CreateRaw(buf);
}

cJSON *umpire_json_float(float v) {
    if (!isfinite(v))
        return cJSON_CreateNull();
    char buf[40]; /* the shortest that reads back as the same float */
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(buf, sizeof buf, "%.*g", digits, (double)v);
        if (strtof(buf, NULL) == v)
            break;
    }
    return cJSON_CreateRaw(buf);
}

void umpire_json_exact(cJSON *v) {
    for (cJSON *x = v ? v->child : NULL; x; x = x->next) {
        if (!cJSON_IsNumber(x)) {
            umpire_json_exact(x);
            continue;
        }
        cJSON *r = umpire_json_number(x->valuedouble); /* the number becomes raw text in place */
        if (r && cJSON_IsRaw(r)) {
            x->type = cJSON_Raw;
            x->valuestring = r->valuestring;
            r->valuestring = NULL;
        }
        cJSON_Delete(r);
    }
}

static cJSON *doubles(const double *v, size_t n) {
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, umpire_json_number(v[i]));
    return a;
}

static cJSON *floats(const float *v, size_t n) {
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n; i++)
        cJSON_AddItemToArray(a, umpire_json_float(v[i]));
    return a;
}

static cJSON *answer_json(const struct umpire_answer *a, size_t dim, size_t dim_middle) {
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
    if (a->raw_logprobs)
        cJSON_AddItemToObject(o, "raw_logprobs", doubles(a->raw_logprobs, a->n_tokens));
    if (a->raw_entropies)
        cJSON_AddItemToObject(o, "raw_entropies", doubles(a->raw_entropies, a->n_tokens));
    if (a->embedding && dim)
        cJSON_AddItemToObject(o, "embedding", floats(a->embedding, dim));
    if (a->middle && dim_middle)
        cJSON_AddItemToObject(o, "middle", floats(a->middle, dim_middle));
    if (a->finish != UMPIRE_FINISH_UNKNOWN)
        cJSON_AddStringToObject(o, "finish", umpire_finish_name(a->finish));
    return o;
}

cJSON *umpire_item_to_json(const struct umpire_item *it) {
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    if (it->id)
        cJSON_AddStringToObject(o, "id", it->id);
    if (it->probs != UMPIRE_PROBS_UNSPECIFIED)
        cJSON_AddStringToObject(o, "probs", umpire_probs_name(it->probs));
    if (it->dim_middle)
        cJSON_AddNumberToObject(o, "middle_layer", it->middle_layer);
    cJSON *s = cJSON_AddArrayToObject(o, "samples");
    for (size_t i = 0; i < it->k; i++)
        cJSON_AddItemToArray(s, answer_json(&it->samples[i], it->dim, it->dim_middle));
    if (it->greedy.logprobs) /* its text and numbers: no estimator reads a state of it */
        cJSON_AddItemToObject(o, "greedy", answer_json(&it->greedy, 0, 0));
    if (it->correct >= 0)
        cJSON_AddBoolToObject(o, "correct", it->correct);
    if (it->extras & UMPIRE_HAS_P_TRUE)
        cJSON_AddItemToObject(o, "p_true", umpire_json_number(it->p_true));
    if (it->extras & UMPIRE_HAS_VERBALISED)
        cJSON_AddItemToObject(o, "verbalised", umpire_json_number(it->verbalised));
    if (it->extras & UMPIRE_HAS_GRADIENTS) {
        cJSON *g = cJSON_AddObjectToObject(o, "gradients");
        cJSON_AddItemToObject(g, "semgrad", umpire_json_number(it->semgrad));
        cJSON_AddItemToObject(g, "exgrad", umpire_json_number(it->exgrad));
        cJSON_AddItemToObject(g, "hybridgrad", umpire_json_number(it->hybridgrad));
    }
    if ((it->extras & UMPIRE_HAS_ENTAILMENT) && it->entailment) {
        cJSON *m = cJSON_AddArrayToObject(o, "entailment");
        for (size_t i = 0; i < it->k; i++)
            cJSON_AddItemToArray(m, doubles(it->entailment + i * it->k, it->k));
    }
    if (it->extras & UMPIRE_HAS_CHOICE) {
        const struct umpire_choice *c = &it->choice;
        cJSON *ch = cJSON_AddObjectToObject(o, "choice");
        char letter[2] = {c->choice < c->n ? (char)('A' + c->choice) : 0, '\0'};
        if (letter[0])
            cJSON_AddStringToObject(ch, "letter", letter);
        else
            cJSON_AddNullToObject(ch, "letter");
        cJSON_AddItemToObject(ch, "confidence", umpire_json_number(c->confidence));
        cJSON_AddNumberToObject(ch, "temperature", c->temp);
        cJSON_AddNumberToObject(ch, "step", c->step);
        cJSON_AddItemToObject(ch, "p", doubles(c->p, c->n));
        cJSON *tok = cJSON_AddArrayToObject(ch, "tokens");
        for (size_t i = 0; i < c->n; i++)
            cJSON_AddItemToArray(tok, cJSON_CreateNumber(c->token[i]));
    }
    return o;
}
