/* item_json.h - an item (question's answers) as a sample-set JSON object (DESIGN.md). */
#ifndef UMPIRE_IO_ITEM_JSON_H
#define UMPIRE_IO_ITEM_JSON_H

#include <cjson/cJSON.h>

#include "umpire.h"

/* {"id"?, "samples": [{"text", "tokens"?, "logprobs", "entropies"?, "embedding"?}],
 *  "greedy"?, "correct"?, "p_true"?, "verbalised"?, "entailment"?}: what
 *  umpire_sampleset_read reads back. NULL when out of memory. */
cJSON *umpire_item_to_json(const struct umpire_item *it);

#endif
