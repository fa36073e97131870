/* sampleset_write.c - the public writer of umpire's interchange format: an item as a JSONL
 * line, a sample set as a file that umpire_sampleset_read (and `umpire score`) reads back. */
#include <stdlib.h>

#include "core/status.h"
#include "io/item_json.h"
#include "io/output.h"
#include "umpire.h"

char *umpire_item_to_jsonl(const struct umpire_item *item) {
    cJSON *o = umpire_item_to_json(item);
    char *line = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return line;
}

int umpire_sampleset_write(const char *path, const struct umpire_sampleset *set, char *err) {
    struct umpire_output out;
    int rc = umpire_output_open(&out, path, err);
    if (rc != UMPIRE_OK)
        return rc;
    for (size_t i = 0; rc == UMPIRE_OK && i < set->n; i++) {
        cJSON *o = umpire_item_to_json(&set->items[i]);
        rc = o ? umpire_put_json(out.f, o, 1, err) : umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
        cJSON_Delete(o);
    }
    return umpire_output_close(&out, rc, err);
}

void umpire_free(void *p) { free(p); }
