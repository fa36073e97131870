/* gguf_check.c - read a GGUF's header with ggml's gguf.h before llama.cpp loads it. The
 * loader (src/llama-model.cpp, load_hparams) stops on GGML_ASSERT, which aborts the process,
 * for some hyper-parameters a file may hold: a block count of 0 or above LLAMA_MAX_LAYERS,
 * next-token-prediction layers beyond the blocks, expert counts out of range or inconsistent,
 * an unknown rope scaling type. Others fail cleanly but say only "failed to load model": no
 * or zero embedding width, heads that do not divide it, an empty vocabulary, tensors larger
 * than the file. libmtmd's CLIP graph asserts when a projector's heads do not divide its
 * width or a patch is larger than the image. Each becomes a message naming the key and its
 * value. The checks follow llama.cpp's pinned tag; they refuse nothing its loader accepts.
 */
#include "engine/gguf_check.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <gguf.h>

#include "core/status.h"
#include "engine/log.h"
#include "io/path.h"

#define LLAMA_MAX_LAYERS 512   /* src/llama-hparams.h */
#define LLAMA_MAX_EXPERTS 1024 /* src/llama-hparams.h */

struct file {
    const char *path, *arch;
    const char *kind; /* "a model llama.cpp can load", "a projector libmtmd can use" */
    struct gguf_context *g;
    char *err;
};

static int bad(const struct file *f, const char *fmt, const char *key, int64_t v, const char *key2,
               int64_t v2) {
    char why[512];
    snprintf(why, sizeof why, fmt, key, v, key2, v2);
    return umpire_fail(f->err, UMPIRE_EINVAL, "%s: not %s (%s)", f->path, f->kind, why);
}

static int is_integer(enum gguf_type t) {
    return t == GGUF_TYPE_UINT8 || t == GGUF_TYPE_INT8 || t == GGUF_TYPE_UINT16 ||
           t == GGUF_TYPE_INT16 || t == GGUF_TYPE_UINT32 || t == GGUF_TYPE_INT32 ||
           t == GGUF_TYPE_UINT64 || t == GGUF_TYPE_INT64;
}

static size_t integer_size(enum gguf_type t) {
    return t == GGUF_TYPE_UINT8 || t == GGUF_TYPE_INT8     ? 1
           : t == GGUF_TYPE_UINT16 || t == GGUF_TYPE_INT16 ? 2
           : t == GGUF_TYPE_UINT32 || t == GGUF_TYPE_INT32 ? 4
                                                           : 8;
}

static int64_t integer_at(const void *p, enum gguf_type t) {
    switch (t) {
    case GGUF_TYPE_UINT8:
        return *(const uint8_t *)p;
    case GGUF_TYPE_INT8:
        return *(const int8_t *)p;
    case GGUF_TYPE_UINT16:
        return *(const uint16_t *)p;
    case GGUF_TYPE_INT16:
        return *(const int16_t *)p;
    case GGUF_TYPE_UINT32:
        return *(const uint32_t *)p;
    case GGUF_TYPE_INT32:
        return *(const int32_t *)p;
    case GGUF_TYPE_UINT64:
        return *(const uint64_t *)p > INT64_MAX ? INT64_MAX : (int64_t) * (const uint64_t *)p;
    default:
        return *(const int64_t *)p;
    }
}

/* The key "ARCH.name" (or name itself when arch is NULL, its full name in key) as an integer:
 * 1 when it is one, or with arrays an integer array (per-layer values: the largest), 0 when
 * absent or of another type (llama.cpp refuses a wrong type cleanly). */
static int get_int(const struct file *f, const char *name, int arrays, char *key, size_t key_len,
                   int64_t *v) {
    if (f->arch)
        snprintf(key, key_len, "%s.%s", f->arch, name);
    else
        snprintf(key, key_len, "%s", name);
    int64_t id = gguf_find_key(f->g, key);
    if (id < 0)
        return 0;
    enum gguf_type t = gguf_get_kv_type(f->g, id);
    if (is_integer(t)) {
        *v = integer_at(gguf_get_val_data(f->g, id), t);
        return 1;
    }
    if (!arrays || t != GGUF_TYPE_ARRAY || !is_integer(gguf_get_arr_type(f->g, id)) ||
        gguf_get_arr_n(f->g, id) == 0)
        return 0;
    enum gguf_type et = gguf_get_arr_type(f->g, id);
    const char *data = gguf_get_arr_data(f->g, id);
    size_t size = integer_size(et);
    *v = integer_at(data, et);
    for (size_t i = 1; i < gguf_get_arr_n(f->g, id); i++) {
        int64_t x = integer_at(data + i * size, et);
        *v = x > *v ? x : *v;
    }
    return 1;
}

/* Every tensor's data inside the file (gguf.h checks the shapes for overflow only). */
static int check_tensors(const struct file *f) {
    struct stat st;
    if (stat(f->path, &st) != 0)
        return umpire_fail(f->err, UMPIRE_EIO, "%s: cannot read", f->path);
    uint64_t size = (uint64_t)st.st_size, start = gguf_get_data_offset(f->g);
    for (int64_t i = 0; i < gguf_get_n_tensors(f->g); i++) {
        uint64_t off = gguf_get_tensor_offset(f->g, i), n = gguf_get_tensor_size(f->g, i);
        const int64_t *ne = gguf_get_tensor_ne(f->g, i);
        if (start > size || off > size - start || n > size - start - off)
            return umpire_fail(f->err, UMPIRE_EINVAL,
                               "%s: not %s (tensor %s of %" PRId64 " x %" PRId64 " x %" PRId64
                               " x %" PRId64 " does not fit in the file)",
                               f->path, f->kind, gguf_get_tensor_name(f->g, i), ne[0], ne[1], ne[2],
                               ne[3]);
    }
    return 0;
}

static int check_llm(const struct file *f) {
    char k1[160], k2[160], k3[160];
    int64_t n_layer = 0, n_nextn, n_expert = 0, n_used = 0, n_groups = 0, n_group_used = 0,
            n_embd = 0, n_head, n_kv, v;
    if (!get_int(f, "block_count", 0, k1, sizeof k1, &n_layer))
        return bad(f, "%s missing", k1, 0, "", 0);
    if (n_layer < 1 || n_layer > LLAMA_MAX_LAYERS)
        return bad(f, "%s = %" PRId64 ": needs 1..512 blocks", k1, n_layer, "", 0);
    if (get_int(f, "nextn_predict_layers", 0, k2, sizeof k2, &n_nextn) &&
        (n_nextn < 0 || n_nextn > n_layer))
        return bad(f, "%s = %" PRId64 " is more than %s = %" PRId64, k2, n_nextn, k1, n_layer);
    get_int(f, "expert_count", 0, k1, sizeof k1, &n_expert);
    get_int(f, "expert_used_count", 1, k2, sizeof k2, &n_used);
    get_int(f, "expert_group_count", 0, k3, sizeof k3, &n_groups);
    if (n_expert < 0 || n_expert > LLAMA_MAX_EXPERTS)
        return bad(f, "%s = %" PRId64 ": at most 1024 experts", k1, n_expert, "", 0);
    if (n_used < 0 || n_used > n_expert || (n_expert > 0 && n_used == 0))
        return bad(f, "%s = %" PRId64 " with %s = %" PRId64, k2, n_used, k1, n_expert);
    if (n_groups < 0 || (n_expert > 0 ? n_groups >= n_expert : n_groups != 0) ||
        (n_groups > 1 && n_expert % n_groups != 0))
        return bad(f, "%s = %" PRId64 " with %s = %" PRId64, k3, n_groups, k1, n_expert);
    if (n_expert > 0 && n_groups > 1 &&
        (!get_int(f, "expert_group_used_count", 0, k2, sizeof k2, &n_group_used) ||
         n_group_used < 1 || n_group_used >= n_groups))
        return bad(f, "%s = %" PRId64 " with %s = %" PRId64, k2, n_group_used, k3, n_groups);
    snprintf(k1, sizeof k1, "%s.rope.scaling.type", f->arch);
    int64_t id = gguf_find_key(f->g, k1);
    if (id >= 0 && gguf_get_kv_type(f->g, id) == GGUF_TYPE_STRING) {
        const char *s = gguf_get_val_str(f->g, id);
        if (strcmp(s, "none") && strcmp(s, "linear") && strcmp(s, "yarn") && strcmp(s, "longrope"))
            return umpire_fail(f->err, UMPIRE_EINVAL,
                               "%s: not %s (%s = \"%.40s\": not none, linear, yarn or longrope)",
                               f->path, f->kind, k1, s);
    }
    if (!get_int(f, "embedding_length", 0, k1, sizeof k1, &n_embd))
        return bad(f, "%s missing", k1, 0, "", 0);
    if (n_embd < 1)
        return bad(f, "%s = %" PRId64 ": needs a width of at least 1", k1, n_embd, "", 0);
    if (get_int(f, "context_length", 0, k2, sizeof k2, &v) && v < 1)
        return bad(f, "%s = %" PRId64 ": needs a context of at least 1 token", k2, v, "", 0);
    /* scalar head counts (per-layer arrays, as hybrid models have, may hold 0 for layers
     * without attention); the head width is n_embd / n_head unless given */
    if (get_int(f, "attention.head_count", 0, k2, sizeof k2, &n_head)) {
        if (n_head < 1)
            return bad(f, "%s = %" PRId64 ": needs at least 1 head", k2, n_head, "", 0);
        if (!get_int(f, "attention.key_length", 0, k3, sizeof k3, &v) && n_embd % n_head != 0)
            return bad(f, "%s = %" PRId64 " does not divide %s = %" PRId64, k2, n_head, k1, n_embd);
        if (get_int(f, "attention.head_count_kv", 0, k3, sizeof k3, &n_kv) &&
            (n_kv < 1 || n_head % n_kv != 0))
            return bad(f, "%s = %" PRId64 " does not divide %s = %" PRId64, k3, n_kv, k2, n_head);
    }
    id = gguf_find_key(f->g, "tokenizer.ggml.model");
    int has_vocab = !(id >= 0 && gguf_get_kv_type(f->g, id) == GGUF_TYPE_STRING &&
                      !strcmp(gguf_get_val_str(f->g, id), "none"));
    id = gguf_find_key(f->g, "tokenizer.ggml.tokens");
    if (has_vocab &&
        (id < 0 || gguf_get_kv_type(f->g, id) != GGUF_TYPE_ARRAY || gguf_get_arr_n(f->g, id) == 0))
        return umpire_fail(f->err, UMPIRE_EINVAL,
                           "%s: not %s (tokenizer.ggml.tokens %s: no vocabulary)", f->path, f->kind,
                           id < 0 ? "missing" : "empty");
    return 0;
}

/* The projector's encoders: heads dividing the width (unless a head width is given), a patch
 * no larger than the image. */
static int check_clip(const struct file *f) {
    static const char *const encoders[] = {"vision", "audio"};
    char k1[160], k2[160], k3[160];
    for (int e = 0; e < 2; e++) {
        char name[64];
        int64_t n_head, n_embd = 0, v;
        snprintf(name, sizeof name, "clip.%s.attention.head_count", encoders[e]);
        if (!get_int(f, name, 0, k1, sizeof k1, &n_head))
            continue;
        snprintf(name, sizeof name, "clip.%s.embedding_length", encoders[e]);
        get_int(f, name, 0, k2, sizeof k2, &n_embd);
        snprintf(name, sizeof name, "clip.%s.attention.head_dim", encoders[e]);
        if (n_head < 1 || (!get_int(f, name, 0, k3, sizeof k3, &v) && n_embd % n_head != 0))
            return bad(f, "%s = %" PRId64 " does not divide %s = %" PRId64, k1, n_head, k2, n_embd);
    }
    int64_t patch, image;
    if (!get_int(f, "clip.vision.patch_size", 0, k1, sizeof k1, &patch))
        return 0;
    if (patch < 1)
        return bad(f, "%s = %" PRId64 ": needs a patch of at least 1 pixel", k1, patch, "", 0);
    if (get_int(f, "clip.vision.image_size", 0, k2, sizeof k2, &image) && image < patch)
        return bad(f, "%s = %" PRId64 " is larger than %s = %" PRId64, k1, patch, k2, image);
    return 0;
}

static int check(const char *path, int projector, char *err) {
    const char *kind = projector ? "a projector libmtmd can use" : "a model llama.cpp can load";
    int rc = umpire_regular_file(path, projector ? "projector" : "model", err);
    if (rc != UMPIRE_OK)
        return rc;
    struct gguf_init_params gp = {.no_alloc = true, .ctx = NULL};
    struct file f = {.path = path, .kind = kind, .g = gguf_init_from_file(path, gp), .err = err};
    if (!f.g)
        return umpire_fail(err, UMPIRE_EINVAL, "%s: not %s (not a GGUF file, or a damaged one: %s)",
                           path, kind, umpire_log_last_error());
    int64_t id = gguf_find_key(f.g, "general.architecture");
    if (id < 0 || gguf_get_kv_type(f.g, id) != GGUF_TYPE_STRING)
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: not %s (general.architecture missing)", path,
                         kind);
    else if (!projector && !strcmp((f.arch = gguf_get_val_str(f.g, id)), "clip"))
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: not %s (a projector: give it with --mmproj)",
                         path, kind);
    else
        rc = check_tensors(&f);
    if (rc == UMPIRE_OK && projector) {
        f.arch = NULL;
        rc = check_clip(&f);
    } else if (rc == UMPIRE_OK) {
        rc = check_llm(&f);
    }
    gguf_free(f.g);
    return rc;
}

int umpire_gguf_check_model(const char *path, char *err) { return check(path, 0, err); }

int umpire_gguf_check_projector(const char *path, char *err) { return check(path, 1, err); }
