/* scene.c - the shapes world: buckets, drawing, questions, datasets (see scene.h). */
#define _POSIX_C_SOURCE 200809L
#include "scene.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "core/rng.h"
#include "core/status.h"
#include "io/output.h"
#include "umpire.h"

static const char *shapes[N_SHAPES] = {"circle", "square", "triangle", "diamond"};
static const char *colours[N_COLOURS] = {"red", "green", "blue", "yellow", "purple"};
static const uint8_t colour_rgb[N_COLOURS][3] = {
    {220, 40, 40}, {40, 190, 60}, {50, 80, 230}, {230, 210, 40}, {150, 60, 200}};
static const char *quads[N_QUADS] = {"top left", "top right", "bottom left", "bottom right"};
static const char *counts[SCENE_MAX] = {"one", "two", "three", "four"};
static const char *ways[2] = {"left", "right"};
static const char *bucket_names[N_EVAL_BUCKETS] = {"known", "rare", "unseen", "ood", "idk"};

const char *scene_shape_name(int s) { return shapes[s]; }
const char *scene_colour_name(int c) { return colours[c]; }
const char *scene_bucket_name(int b) { return bucket_names[b]; }

static void shuffle(struct umpire_rng *g, int *a, int n) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)umpire_rng_below(g, (uint64_t)i + 1), t = a[i];
        a[i] = a[j];
        a[j] = t;
    }
}

void scene_world_make(struct scene_world *w, uint64_t seed, int image) {
    memset(w, 0, sizeof *w);
    w->seed = seed;
    w->image = image;
    w->p_rare = 0.09;
    w->p_idk = 0.15;
    w->p_desc = 0.3;
    struct umpire_rng g;
    umpire_rng_seed(&g, seed ^ 0x7363656e65776f72ULL);
    for (;;) { /* 3 rare, 3 unseen pairs; every shape and colour keeps two frequent pairs */
        int idx[N_SHAPES * N_COLOURS];
        for (int i = 0; i < N_SHAPES * N_COLOURS; i++)
            idx[i] = i;
        shuffle(&g, idx, N_SHAPES * N_COLOURS);
        memset(w->bucket, 0, sizeof w->bucket);
        for (int i = 0; i < 6; i++)
            w->bucket[idx[i] / N_COLOURS][idx[i] % N_COLOURS] = i < 3 ? PAIR_RARE : PAIR_UNSEEN;
        int ok = 1;
        for (int s = 0; s < N_SHAPES; s++) {
            int f = 0;
            for (int c = 0; c < N_COLOURS; c++)
                f += w->bucket[s][c] == PAIR_FREQUENT;
            ok &= f >= 2;
        }
        for (int c = 0; c < N_COLOURS; c++) {
            int f = 0;
            for (int s = 0; s < N_SHAPES; s++)
                f += w->bucket[s][c] == PAIR_FREQUENT;
            ok &= f >= 2;
        }
        if (ok)
            return;
    }
}

/* ------------------------------------------------------------------ drawing */

static int inside(int shape, int x, int y, int r) {
    switch (shape) {
    case 0: return x * x + y * y <= r * r;                               /* circle */
    case 1: return abs(x) * 10 <= r * 8 && abs(y) * 10 <= r * 8;         /* square */
    case 2: return y >= -r && y <= r && 2 * abs(x) <= y + r;             /* triangle, apex up */
    default: return abs(x) + abs(y) <= r;                                /* diamond */
    }
}

void scene_render(const struct scene_world *w, const struct scene *s, uint8_t *rgb) {
    const int n = w->image, half = n / 2;
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            uint8_t v = s->textured && ((x + y) / 3) % 2 ? 110 : 30; /* diagonal stripes: never trained */
            uint8_t *p = rgb + ((size_t)y * n + x) * 3;
            p[0] = p[1] = p[2] = v;
        }
    for (int i = 0; i < s->n; i++) {
        const struct object *o = &s->o[i];
        const int cx = (o->quad % 2) * half + half / 2 + o->dx, cy = (o->quad / 2) * half + half / 2 + o->dy;
        const int r = o->big ? n * 14 / 64 : n * 8 / 64;
        for (int y = cy - r; y <= cy + r; y++)
            for (int x = cx - r; x <= cx + r; x++)
                if (x >= 0 && y >= 0 && x < n && y < n && inside(o->shape, x - cx, y - cy, r))
                    memcpy(rgb + ((size_t)y * n + x) * 3, colour_rgb[o->colour], 3);
    }
}

/* ------------------------------------------------------------------ scenes and questions */

/* A scene of n objects whose pairs are frequent, except object 0's when first_pair >= 0
 * (shape * N_COLOURS + colour). */
static void draw_scene(const struct scene_world *w, struct umpire_rng *g, int n, int first_pair, struct scene *s) {
    for (;;) {
        memset(s, 0, sizeof *s);
        s->n = n;
        int sh[N_SHAPES] = {0, 1, 2, 3}, q[N_QUADS] = {0, 1, 2, 3};
        shuffle(g, sh, N_SHAPES);
        shuffle(g, q, N_QUADS);
        int used = 0, ok = 1;
        for (int i = 0; i < n && ok; i++) {
            struct object *o = &s->o[i];
            o->shape = sh[i];
            o->quad = q[i];
            o->big = (int)umpire_rng_below(g, 2);
            const int jitter = o->big ? 1 : 3;
            o->dx = (int)umpire_rng_below(g, 2 * jitter + 1) - jitter;
            o->dy = (int)umpire_rng_below(g, 2 * jitter + 1) - jitter;
            if (i == 0 && first_pair >= 0) {
                o->shape = first_pair / N_COLOURS;
                o->colour = first_pair % N_COLOURS;
                for (int j = 1; j < N_SHAPES; j++) /* keep the other shapes distinct */
                    if (sh[j] == o->shape)
                        sh[j] = sh[0];
            } else {
                o->colour = (int)umpire_rng_below(g, N_COLOURS);
                ok = w->bucket[o->shape][o->colour] == PAIR_FREQUENT;
            }
            ok = ok && !(used & (1 << o->colour));
            used |= 1 << o->colour;
        }
        if (ok)
            return;
    }
}

static char *fmt(const char *f, ...) {
    va_list ap;
    va_start(ap, f);
    char buf[256];
    vsnprintf(buf, sizeof buf, f, ap);
    va_end(ap);
    return strdup(buf);
}

/* The question of kind k about object i of s (or, i < 0, about a shape or colour absent from s:
 * the answer is "I don't know"). */
static void ask(struct umpire_rng *g, struct scene_example *ex, int k, int i) {
    const struct scene *s = &ex->s;
    int shape, colour;
    if (i >= 0) {
        shape = s->o[i].shape;
        colour = s->o[i].colour;
    } else {
        int present_s = 0, present_c = 0;
        for (int j = 0; j < s->n; j++)
            present_s |= 1 << s->o[j].shape, present_c |= 1 << s->o[j].colour;
        do
            shape = (int)umpire_rng_below(g, N_SHAPES);
        while (present_s & (1 << shape));
        do
            colour = (int)umpire_rng_below(g, N_COLOURS);
        while (present_c & (1 << colour));
    }
    ex->kind = k;
    switch (k) {
    case Q_COLOUR:
        ex->question = fmt("What colour is the %s?", shapes[shape]);
        ex->answer = strdup(i >= 0 ? colours[colour] : SCENE_IDK);
        break;
    case Q_SIZE:
        ex->question = fmt("Is the %s big or small?", shapes[shape]);
        ex->answer = strdup(i >= 0 ? (s->o[i].big ? "big" : "small") : SCENE_IDK);
        break;
    case Q_WHERE:
        ex->question = fmt("Where is the %s?", shapes[shape]);
        ex->answer = strdup(i >= 0 ? quads[s->o[i].quad] : SCENE_IDK);
        break;
    case Q_WHICH:
        ex->question = fmt("Which shape is %s?", colours[colour]);
        ex->answer = strdup(i >= 0 ? shapes[shape] : SCENE_IDK);
        break;
    default:
        ex->question = strdup("How many shapes are there?");
        ex->answer = strdup(counts[s->n - 1]);
    }
}

static int check(struct scene_example *ex, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!ex[i].question || !ex[i].answer)
            return scene_examples_free(ex, n), -1;
    return 0;
}

int scene_training(const struct scene_world *w, uint64_t stream, size_t n, int max_objects, struct scene_example **out) {
    struct scene_example *ex = calloc(n ? n : 1, sizeof *ex);
    if (!ex)
        return -1;
    struct umpire_rng g;
    umpire_rng_seed(&g, w->seed * 0x9e3779b97f4a7c15ULL ^ (stream + 1) * 0xd1b54a32d192ed03ULL);
    int rare[N_SHAPES * N_COLOURS], n_rare = 0;
    for (int p = 0; p < N_SHAPES * N_COLOURS; p++)
        if (w->bucket[p / N_COLOURS][p % N_COLOURS] == PAIR_RARE)
            rare[n_rare++] = p;
    for (size_t k = 0; k < n; k++) {
        int pair = umpire_rng_uniform(&g) < w->p_rare ? rare[umpire_rng_below(&g, (uint64_t)n_rare)] : -1;
        draw_scene(w, &g, 1 + (int)umpire_rng_below(&g, (uint64_t)max_objects), pair, &ex[k].s);
        int idk = umpire_rng_uniform(&g) < w->p_idk;
        int kind = (int)umpire_rng_below(&g, idk ? N_QUESTIONS - 1 : N_QUESTIONS);
        ask(&g, &ex[k], kind, idk ? -1 : pair >= 0 ? 0 : (int)umpire_rng_below(&g, (uint64_t)ex[k].s.n));
        if (umpire_rng_uniform(&g) < w->p_desc) { /* half of them with the answering sentence */
            int sentences = 1 + (int)umpire_rng_below(&g, 3), obj = -1;
            for (int j = 0; j < ex[k].s.n && obj < 0; j++)
                if (strstr(ex[k].question, shapes[ex[k].s.o[j].shape]) ||
                    strstr(ex[k].question, colours[ex[k].s.o[j].colour]))
                    obj = j;
            int key = umpire_rng_uniform(&g) < 0.5 ? scene_key_sentence(&ex[k].s, kind, obj) : -1;
            int key_at = (int)umpire_rng_below(&g, (uint64_t)sentences);
            if (!(ex[k].description = scene_describe(&g, &ex[k].s, sentences, key, key_at)))
                return scene_examples_free(ex, n), -1;
        }
    }
    *out = ex;
    return check(ex, n);
}

/* ------------------------------------------------------------------ descriptions */

int scene_key_sentence(const struct scene *s, int kind, int i) {
    if (kind == Q_COUNT)
        return 3 * s->n;
    if (i < 0)
        return -1;
    return 3 * i + (kind == Q_SIZE ? 1 : kind == Q_WHERE ? 2 : 0); /* colour and which: the colour's */
}

char *scene_describe(struct umpire_rng *g, const struct scene *s, int k, int key, int key_at) {
    char *all[3 * SCENE_MAX + 1];
    int n = 0, order[3 * SCENE_MAX + 1];
    for (int i = 0; i < s->n; i++) {
        const struct object *o = &s->o[i];
        all[n++] = fmt("The %s is %s.", shapes[o->shape], colours[o->colour]);
        all[n++] = fmt("The %s is %s.", shapes[o->shape], o->big ? "big" : "small");
        all[n++] = fmt("The %s is at the %s.", shapes[o->shape], quads[o->quad]);
    }
    all[n++] = s->n == 1 ? strdup("There is one shape.") : fmt("There are %s shapes.", counts[s->n - 1]);
    for (int i = 0; i < n; i++)
        order[i] = i;
    shuffle(g, order, n);
    if (key >= 0 && key_at < k)
        for (int i = 0; i < n; i++)
            if (order[i] == key) {
                order[i] = order[key_at];
                order[key_at] = key;
                break;
            }
    char buf[1024] = "";
    int ok = 1;
    for (int i = 0; i < n; i++)
        ok &= all[i] != NULL;
    for (int i = 0; ok && i < k && i < n; i++) {
        if (i)
            strcat(buf, " ");
        strcat(buf, all[order[i]]);
    }
    for (int i = 0; i < n; i++)
        free(all[i]);
    return ok ? strdup(buf) : NULL;
}

/* ------------------------------------------------------------------ clips */

/* A clip of the kind: frames in ex->frame, its question and answer. */
static void clip(const struct scene_world *w, struct umpire_rng *g, int kind, struct scene_example *ex) {
    struct scene full;
    ex->n_frames = CLIP_FRAMES;
    ex->kind = kind;
    if (kind == CLIP_MOVE) { /* a small shape moving inside its quadrant, maybe another one still */
        draw_scene(w, g, 1 + (int)umpire_rng_below(g, 2), -1, &full);
        struct object *m = &full.o[0];
        m->big = 0;
        m->dx = (int)umpire_rng_below(g, 5) - 2; /* a start either way: -2..2 from the quadrant's centre */
        int way = (int)umpire_rng_below(g, 2);
        for (int f = 0; f < CLIP_FRAMES; f++) {
            ex->frame[f] = full;
            ex->frame[f].o[0].dx = m->dx + (way ? 1 : -1) * CLIP_STEP * f;
        }
        ex->question = fmt("Which way does the %s move?", shapes[m->shape]);
        ex->answer = strdup(ways[way]);
    } else { /* 2 shapes, the second one missing from the first frame or from the last */
        draw_scene(w, g, 2, -1, &full);
        struct scene less = full;
        less.n--;
        for (int f = 0; f < CLIP_FRAMES; f++)
            ex->frame[f] = (kind == CLIP_APPEAR ? f == 0 : f == CLIP_FRAMES - 1) ? less : full;
        ex->question = strdup(kind == CLIP_APPEAR ? "Which shape appears?" : "Which shape vanishes?");
        ex->answer = strdup(shapes[full.o[full.n - 1].shape]);
    }
    ex->s = ex->frame[0];
}

int scene_clips(const struct scene_world *w, uint64_t stream, size_t n, struct scene_example **out) {
    struct scene_example *ex = calloc(n ? n : 1, sizeof *ex);
    if (!ex)
        return -1;
    struct umpire_rng g;
    umpire_rng_seed(&g, w->seed * 0x9e3779b97f4a7c15ULL ^ (stream + 1) * 0xc2b2ae3d27d4eb4fULL ^ 0x636c6970ULL);
    for (size_t k = 0; k < n; k++)
        clip(w, &g, (int)umpire_rng_below(&g, N_CLIP_KINDS), &ex[k]);
    *out = ex;
    return check(ex, n);
}

int scene_eval_clips(const struct scene_world *w, size_t n, struct scene_example **out) {
    struct scene_example *ex = calloc(n ? n : 1, sizeof *ex);
    if (!ex)
        return -1;
    struct umpire_rng g;
    umpire_rng_seed(&g, w->seed * 0x9e3779b97f4a7c15ULL ^ 0x766964656f657661ULL);
    for (size_t k = 0; k < n; k++)
        clip(w, &g, (int)(k % N_CLIP_KINDS), &ex[k]);
    *out = ex;
    return check(ex, n);
}

int scene_eval(const struct scene_world *w, int bucket, size_t n, struct scene_example **out) {
    struct scene_example *ex = calloc(n ? n : 1, sizeof *ex);
    if (!ex)
        return -1;
    struct umpire_rng g;
    umpire_rng_seed(&g, w->seed * 0x9e3779b97f4a7c15ULL ^ (0xe7a1ULL + (uint64_t)bucket) * 0xd1b54a32d192ed03ULL);
    int want = bucket == EB_RARE ? PAIR_RARE : PAIR_UNSEEN, pairs[N_SHAPES * N_COLOURS], n_pairs = 0;
    for (int p = 0; p < N_SHAPES * N_COLOURS; p++)
        if (w->bucket[p / N_COLOURS][p % N_COLOURS] == want)
            pairs[n_pairs++] = p;
    for (size_t k = 0; k < n; k++) {
        struct scene_example *e = &ex[k];
        e->bucket = bucket;
        if (bucket == EB_RARE || (bucket == EB_UNSEEN && k % 4 != 3)) { /* a question on the rare/unseen pair */
            draw_scene(w, &g, 1 + (int)umpire_rng_below(&g, 3), pairs[k % (size_t)n_pairs], &e->s);
            static const int kinds[] = {Q_COLOUR, Q_WHICH, Q_SIZE, Q_WHERE};
            ask(&g, e, kinds[(k / (size_t)n_pairs) % 4], 0);
        } else if (bucket == EB_UNSEEN) { /* four objects: a count never trained */
            draw_scene(w, &g, 4, -1, &e->s);
            ask(&g, e, Q_COUNT, 0);
        } else {
            draw_scene(w, &g, 1 + (int)umpire_rng_below(&g, 3), -1, &e->s);
            e->s.textured = bucket == EB_OOD;
            int idk = bucket == EB_IDK;
            int kind = (int)(k % (idk ? N_QUESTIONS - 1 : N_QUESTIONS));
            ask(&g, e, kind, idk ? -1 : (int)umpire_rng_below(&g, (uint64_t)e->s.n));
        }
    }
    *out = ex;
    return check(ex, n);
}

void scene_examples_free(struct scene_example *ex, size_t n) {
    for (size_t i = 0; ex && i < n; i++) {
        free(ex[i].question);
        free(ex[i].answer);
        free(ex[i].description);
    }
    free(ex);
}

int scene_texts(char ***out, size_t *n) {
    size_t cap = 96, k = 0;
    char **t = calloc(cap, sizeof *t);
    if (!t)
        return -1;
#define PUSH(x) (t[k++] = (x))
    PUSH(strdup(UMPIRE_DEFAULT_INSTRUCTION));
    PUSH(strdup(SCENE_IDK));
    PUSH(strdup("How many shapes are there?"));
    for (int s = 0; s < N_SHAPES; s++) { /* each text as the model reads it: a word at its start has no space */
        PUSH(fmt("What colour is the %s?", shapes[s]));
        PUSH(fmt("Is the %s big or small?", shapes[s]));
        PUSH(fmt("Where is the %s?", shapes[s]));
        PUSH(strdup(shapes[s]));
    }
    for (int c = 0; c < N_COLOURS; c++) {
        PUSH(fmt("Which shape is %s?", colours[c]));
        PUSH(strdup(colours[c]));
    }
    for (int q = 0; q < N_QUADS; q++)
        PUSH(strdup(quads[q]));
    for (int c = 0; c < SCENE_MAX; c++)
        PUSH(strdup(counts[c]));
    PUSH(strdup("big"));
    PUSH(strdup("small"));
    PUSH(strdup("user assistant")); /* the chat template's roles */
    for (int s = 0; s < N_SHAPES; s++) { /* the clips' questions, the descriptions' sentences */
        PUSH(fmt("Which way does the %s move?", shapes[s]));
        PUSH(fmt("The %s is big. The %s is small. The %s is at the top left.", shapes[s], shapes[s], shapes[s]));
    }
    for (int c = 0; c < N_COLOURS; c++)
        PUSH(fmt("The circle is %s.", colours[c]));
    PUSH(strdup("Which shape appears?"));
    PUSH(strdup("Which shape vanishes?"));
    PUSH(strdup(ways[0]));
    PUSH(strdup(ways[1]));
    PUSH(strdup("There is one shape. There are two shapes. There are three shapes."));
    PUSH(strdup("The circle is at the bottom right."));
#undef PUSH
    for (size_t i = 0; i < k; i++)
        if (!t[i]) {
            for (size_t j = 0; j < k; j++)
                free(t[j]);
            free(t);
            return -1;
        }
    *out = t;
    *n = k;
    return 0;
}

/* ------------------------------------------------------------------ files */

int scene_write_ppm(const char *path, const uint8_t *rgb, int side, char *err) {
    struct umpire_output o;
    int rc = umpire_output_open(&o, path, err);
    if (rc != UMPIRE_OK)
        return rc;
    const size_t bytes = (size_t)side * side * 3;
    if (fprintf(o.f, "P6\n%d %d\n255\n", side, side) < 0 || fwrite(rgb, 1, bytes, o.f) != bytes)
        rc = umpire_fail(err, UMPIRE_EIO, "%s: write failed", path);
    return umpire_output_close(&o, rc, err);
}

static cJSON *item(const struct scene_example *e, const char *id, const char *image) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", id);
    cJSON_AddStringToObject(o, "question", e->question);
    cJSON_AddStringToObject(o, "image", image);
    cJSON *answers = cJSON_AddArrayToObject(o, "answers");
    if (strcmp(e->answer, SCENE_IDK))
        cJSON_AddItemToArray(answers, cJSON_CreateString(e->answer));
    else
        cJSON_AddFalseToObject(o, "answerable");
    cJSON_AddStringToObject(o, "bucket", bucket_names[e->bucket]);
    static const char *kinds[N_QUESTIONS] = {"colour", "size", "where", "which", "count"};
    cJSON_AddStringToObject(o, "kind", kinds[e->kind]);
    return o;
}

static int put(FILE *f, cJSON *o, char *err) {
    int rc = o ? umpire_put_json(f, o, 1, err) : umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    cJSON_Delete(o);
    return rc;
}

/* clips/video-NNN/frame-F.ppm; video.jsonl (every frame) and video-1frame.jsonl (the first) */
static int write_clips(const struct scene_world *w, const char *dir, size_t n, char *err) {
    char path[4400];
    struct scene_example *ex = NULL;
    uint8_t *rgb = malloc((size_t)w->image * w->image * 3);
    if (!rgb || scene_eval_clips(w, n, &ex) != 0)
        return free(rgb), umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    int rc = UMPIRE_OK;
    snprintf(path, sizeof path, "%s/clips", dir);
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        rc = umpire_fail(err, UMPIRE_EIO, "cannot create %s: %s", path, strerror(errno));
    for (size_t i = 0; i < n && rc == UMPIRE_OK; i++) {
        snprintf(path, sizeof path, "%s/clips/video-%03zu", dir, i);
        if (mkdir(path, 0777) != 0 && errno != EEXIST)
            rc = umpire_fail(err, UMPIRE_EIO, "cannot create %s: %s", path, strerror(errno));
        for (int f = 0; f < CLIP_FRAMES && rc == UMPIRE_OK; f++) {
            scene_render(w, &ex[i].frame[f], rgb);
            snprintf(path, sizeof path, "%s/clips/video-%03zu/frame-%d.ppm", dir, i, f);
            rc = scene_write_ppm(path, rgb, w->image, err);
        }
    }
    free(rgb);
    static const char *kinds[N_CLIP_KINDS] = {"move", "appear", "vanish"};
    for (int one = 0; one < 2 && rc == UMPIRE_OK; one++) {
        snprintf(path, sizeof path, "%s/%s.jsonl", dir, one ? "video-1frame" : "video");
        struct umpire_output o;
        if ((rc = umpire_output_open(&o, path, err)) != UMPIRE_OK)
            break;
        for (size_t i = 0; i < n && rc == UMPIRE_OK; i++) {
            char id[64], video[96];
            snprintf(id, sizeof id, "video-%03zu", i);
            snprintf(video, sizeof video, "clips/%s", id);
            cJSON *j = cJSON_CreateObject();
            cJSON_AddStringToObject(j, "id", id);
            cJSON_AddStringToObject(j, "question", ex[i].question);
            cJSON_AddStringToObject(j, "video", video);
            cJSON_AddNumberToObject(j, "frames", one ? 1 : CLIP_FRAMES);
            cJSON_AddItemToArray(cJSON_AddArrayToObject(j, "answers"), cJSON_CreateString(ex[i].answer));
            cJSON_AddStringToObject(j, "bucket", "video");
            cJSON_AddStringToObject(j, "kind", kinds[ex[i].kind]);
            rc = put(o.f, j, err);
        }
        rc = umpire_output_close(&o, rc, err);
    }
    scene_examples_free(ex, n);
    return rc;
}

/* describe.jsonl: the known bucket's questions (their pictures), each asked with 0..3 true
 * sentences, the one that answers it at a random place among the first three */
static int write_described(const struct scene_world *w, const char *dir, size_t n, char *err) {
    char path[4400];
    struct scene_example *ex = NULL;
    struct umpire_rng g;
    umpire_rng_seed(&g, w->seed * 0x9e3779b97f4a7c15ULL ^ 0x6465736372696265ULL);
    if (scene_eval(w, EB_KNOWN, n, &ex) != 0)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    int rc;
    struct umpire_output o;
    snprintf(path, sizeof path, "%s/describe.jsonl", dir);
    if ((rc = umpire_output_open(&o, path, err)) == UMPIRE_OK) {
        for (size_t i = 0; i < n && rc == UMPIRE_OK; i++) {
            const struct scene_example *e = &ex[i];
            int obj = -1; /* the object asked about: the one the question names */
            for (int j = 0; j < e->s.n && obj < 0; j++)
                if (strstr(e->question, shapes[e->s.o[j].shape]) || strstr(e->question, colours[e->s.o[j].colour]))
                    obj = j;
            int key = scene_key_sentence(&e->s, e->kind, obj), key_at = (int)umpire_rng_below(&g, 3);
            uint64_t order = umpire_rng_next(&g); /* one shuffle for every k */
            for (int k = 0; k <= 3 && rc == UMPIRE_OK; k++) {
                struct umpire_rng h;
                umpire_rng_seed(&h, order);
                char *d = scene_describe(&h, &e->s, k, key, key_at), id[64], image[96];
                snprintf(id, sizeof id, "describe-%03zu-k%d", i, k);
                snprintf(image, sizeof image, "images/known-%03zu.ppm", i);
                cJSON *j = d ? item(e, id, image) : NULL;
                if (j && k)
                    cJSON_AddStringToObject(j, "description", d);
                if (j) {
                    cJSON_AddNumberToObject(j, "sentences", k);
                    cJSON_ReplaceItemInObject(j, "bucket", cJSON_CreateString("describe"));
                }
                free(d);
                rc = put(o.f, j, err);
            }
        }
        rc = umpire_output_close(&o, rc, err);
    }
    scene_examples_free(ex, n);
    return rc;
}

int scene_write_datasets(const struct scene_world *w, const char *dir, size_t n_per_bucket, char *err) {
    char path[4400];
    snprintf(path, sizeof path, "%s/images", dir);
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        return umpire_fail(err, UMPIRE_EIO, "cannot create %s: %s", path, strerror(errno));
    struct scene_example *all[N_EVAL_BUCKETS] = {0};
    int rc = UMPIRE_OK;
    uint8_t *rgb = malloc((size_t)w->image * w->image * 3);
    if (!rgb)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    for (int b = 0; b < N_EVAL_BUCKETS && rc == UMPIRE_OK; b++) {
        if (scene_eval(w, b, n_per_bucket, &all[b]) != 0) {
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
            break;
        }
        for (size_t i = 0; i < n_per_bucket && rc == UMPIRE_OK; i++) {
            scene_render(w, &all[b][i].s, rgb);
            snprintf(path, sizeof path, "%s/images/%s-%03zu.ppm", dir, bucket_names[b], i);
            rc = scene_write_ppm(path, rgb, w->image, err);
        }
    }
    free(rgb);
    /* per bucket, then the demo's held-out mix (every third item) and its calibration set */
    static const char *mixes[2] = {"heldout-mix", "calibration"};
    for (int f = 0; f < N_EVAL_BUCKETS + 2 && rc == UMPIRE_OK; f++) {
        snprintf(path, sizeof path, "%s/%s.jsonl", dir, f < N_EVAL_BUCKETS ? bucket_names[f] : mixes[f - N_EVAL_BUCKETS]);
        struct umpire_output o;
        if ((rc = umpire_output_open(&o, path, err)) != UMPIRE_OK)
            break;
        for (int b = 0; b < N_EVAL_BUCKETS && rc == UMPIRE_OK; b++)
            for (size_t i = 0; i < n_per_bucket && rc == UMPIRE_OK; i++) {
                int keep = f < N_EVAL_BUCKETS ? b == f : (i % 3 == 0) == (f == N_EVAL_BUCKETS);
                if (!keep)
                    continue;
                char id[64], image[96];
                snprintf(id, sizeof id, "%s-%03zu", bucket_names[b], i);
                snprintf(image, sizeof image, "images/%s.ppm", id);
                rc = put(o.f, item(&all[b][i], id, image), err);
            }
        rc = umpire_output_close(&o, rc, err);
    }
    if (rc == UMPIRE_OK) {
        snprintf(path, sizeof path, "%s/pairs.jsonl", dir);
        struct umpire_output o;
        if ((rc = umpire_output_open(&o, path, err)) == UMPIRE_OK) {
            static const char *pb[3] = {"frequent", "rare", "unseen"};
            for (int s = 0; s < N_SHAPES && rc == UMPIRE_OK; s++)
                for (int c = 0; c < N_COLOURS && rc == UMPIRE_OK; c++) {
                    cJSON *j = cJSON_CreateObject();
                    cJSON_AddStringToObject(j, "shape", shapes[s]);
                    cJSON_AddStringToObject(j, "colour", colours[c]);
                    cJSON_AddStringToObject(j, "bucket", pb[w->bucket[s][c]]);
                    rc = put(o.f, j, err);
                }
            rc = umpire_output_close(&o, rc, err);
        }
    }
    for (int b = 0; b < N_EVAL_BUCKETS; b++)
        scene_examples_free(all[b], all[b] ? n_per_bucket : 0);
    if (rc == UMPIRE_OK)
        rc = write_clips(w, dir, n_per_bucket, err);
    if (rc == UMPIRE_OK)
        rc = write_described(w, dir, n_per_bucket, err);
    return rc;
}
