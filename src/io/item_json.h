/* item_json.h - an item (question's answers) as a sample-set JSON object (DESIGN.md). */
#ifndef UMPIRE_IO_ITEM_JSON_H
#define UMPIRE_IO_ITEM_JSON_H

#include <cjson/cJSON.h>

#include "umpire.h"

/* {"id"?, "probs"?, "middle_layer"?, "samples": [{"text", "tokens"?, "logprobs", "entropies"?,
 *  "raw_logprobs"?, "raw_entropies"?, "embedding"?, "middle"?, "finish"?}], "greedy"?,
 *  "correct"?, "p_true"?, "verbalised"?, "gradients"?, "entailment"?, "choice"?}: what
 *  umpire_sampleset_read reads back. NULL when out of memory. */
cJSON *umpire_item_to_json(const struct umpire_item *it);

/* A number that reads back as exactly v (null when v is not finite): the shortest of 15..17
 * significant digits (a float: of 6..9). umpire writes every number of its files this way. */
cJSON *umpire_json_number(double v);
cJSON *umpire_json_float(float v);
/* Every number inside v (parsed from such a file) as umpire_json_number writes it, so that a
 * line read and written again is the same bytes. */
void umpire_json_exact(cJSON *v);

#endif
