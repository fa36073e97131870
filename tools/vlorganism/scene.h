/* scene.h - the vision-language organism's world: pictures of shapes, drawn by the tool itself,
 * and questions about them. No llama.cpp, no ggml here.
 *
 * A scene holds 1 to 3 objects (training; 4 only in the unseen bucket), each a shape (circle,
 * square, triangle, diamond) of a colour (red, green, blue, yellow, purple) and a size (small,
 * big) in a quadrant of the picture (top left ...), shapes and colours distinct within a scene,
 * on a plain dark background. A seed puts every (shape, colour) pair in a bucket: FREQUENT
 * pairs make up the training scenes, RARE ones appear in a few, UNSEEN ones never. Questions:
 * an object's colour, size or place ("What colour is the circle?"), which shape has a colour
 * ("Which shape is red?"), how many shapes there are; asked about a shape or a colour that is
 * not in the picture, the right answer is "I don't know" (trained).
 *
 * Evaluation buckets: known (frequent pairs), rare, unseen (an unseen pair, or four objects:
 * a count beyond the training range), ood (known scenes on a background never seen: a
 * textured one) and idk (the question's shape or colour is not in the picture).
 *
 * Clips (the video world): CLIP_FRAMES pictures in order, asked as images in order (as the
 * engine asks a video's frames): a small shape moving left or right by a fixed step a frame
 * inside its quadrant, from a start that does not tell which way ("Which way does the circle
 * move?"); of two shapes, one that appears after the first frame ("Which shape appears?") or is
 * gone from the last ("Which shape vanishes?"). One frame cannot answer them.
 *
 * Descriptions (the Calibration-MLLM study): a scene's true sentences, three an object ("The
 * circle is green." "The circle is big." "The circle is at the top left.") and its count
 * ("There are two shapes."); some training questions carry 1 to 3 of them (half of those the
 * one that answers), asked before the question as the engine asks a dataset item's
 * "description". */
#ifndef UMPIRE_VLORGANISM_SCENE_H
#define UMPIRE_VLORGANISM_SCENE_H

#include <stddef.h>
#include <stdint.h>

#define N_SHAPES 4
#define N_COLOURS 5
#define N_QUADS 4
#define SCENE_MAX 4
#define SCENE_IDK "I don't know"
#define CLIP_FRAMES 3
#define CLIP_STEP 3 /* pixels a moving shape travels a frame (inside its quadrant: one image token) */

enum pair_bucket { PAIR_FREQUENT, PAIR_RARE, PAIR_UNSEEN };
enum question_kind { Q_COLOUR, Q_SIZE, Q_WHERE, Q_WHICH, Q_COUNT, N_QUESTIONS };
enum eval_bucket { EB_KNOWN, EB_RARE, EB_UNSEEN, EB_OOD, EB_IDK, N_EVAL_BUCKETS };
enum clip_kind { CLIP_MOVE, CLIP_APPEAR, CLIP_VANISH, N_CLIP_KINDS };

struct object {
    int shape, colour, big, quad;
    int dx, dy; /* the centre's offset from the quadrant's centre, pixels */
};

struct scene {
    int n;
    struct object o[SCENE_MAX];
    int textured; /* the out-of-distribution background */
};

struct scene_world {
    uint64_t seed;
    int image;                             /* side, pixels (a multiple of 2) */
    int bucket[N_SHAPES][N_COLOURS];       /* enum pair_bucket */
    double p_rare;                         /* share of training scenes with one rare pair */
    double p_idk;                          /* share of training questions with no answer */
    double p_desc;                         /* share of training questions with a description */
};

/* one question about a scene: its text and answer (owned) */
struct scene_example {
    struct scene s;
    char *question, *answer;
    int kind;   /* enum question_kind; enum clip_kind for a clip */
    int bucket; /* enum eval_bucket (evaluation items) */
    char *description; /* true sentences about the scene asked before the question, or NULL */
    int n_frames;      /* 0: a picture (s); CLIP_FRAMES: a clip (frame[], s = frame[0]) */
    struct scene frame[CLIP_FRAMES];
};

/* The world of a seed: 3 rare and 3 unseen pairs, every shape and colour keeping two frequent
 * pairs at least. */
void scene_world_make(struct scene_world *w, uint64_t seed, int image);

const char *scene_shape_name(int s);
const char *scene_colour_name(int c);
const char *scene_bucket_name(int b);

/* Draw the scene: image x image RGB bytes, row-major. */
void scene_render(const struct scene_world *w, const struct scene *s, uint8_t *rgb);

/* n training examples drawn from stream (seed, stream), scenes of 1 to max_objects (<= 3)
 * objects. Free with scene_examples_free. */
int scene_training(const struct scene_world *w, uint64_t stream, size_t n, int max_objects, struct scene_example **out);
/* n training clips from stream (seed, stream), kinds in turn at random. */
int scene_clips(const struct scene_world *w, uint64_t stream, size_t n, struct scene_example **out);
/* n evaluation clips (their own stream), kinds in turn (move, appear, vanish, ...). */
int scene_eval_clips(const struct scene_world *w, size_t n, struct scene_example **out);
/* The scene's k true sentences, joined by spaces: a shuffle of all of them (g), with sentence
 * key (the one that answers the question; -1 for none) moved to position key_at when
 * key_at < k. Owned; NULL when out of memory. */
struct umpire_rng;
char *scene_describe(struct umpire_rng *g, const struct scene *s, int k, int key, int key_at);
/* The sentence of scene_describe's numbering that answers a question of kind k about object i. */
int scene_key_sentence(const struct scene *s, int kind, int i);

/* n evaluation examples of the bucket, drawn from their own stream. */
int scene_eval(const struct scene_world *w, int bucket, size_t n, struct scene_example **out);
void scene_examples_free(struct scene_example *ex, size_t n);

/* Every string the model reads or writes (questions, answers, the instruction). Free each
 * and the array. */
int scene_texts(char ***out, size_t *n);

/* Write the evaluation datasets into dir (existing): images/NAME.ppm and, per bucket, known.jsonl
 * rare.jsonl unseen.jsonl ood.jsonl idk.jsonl (n_per_bucket items each), heldout-mix.jsonl (a
 * third of every bucket's items) and calibration.jsonl (the rest), items in umpire eval's
 * format with "image" and "bucket"; pairs.jsonl (the world: each pair's bucket); video.jsonl
 * (n_per_bucket clips, "video": clips/NAME, a folder of CLIP_FRAMES frames, bucket "video")
 * and video-1frame.jsonl (the same, "frames": 1: the first frame alone); describe.jsonl (the
 * description study: n_per_bucket known-style questions, each at 0..3 true sentences, the one
 * that answers it at a random place among the first three; "sentences": k). Returns 0, or
 * a negative status with err (UMPIRE_ERR_LEN) naming the file. */
int scene_write_datasets(const struct scene_world *w, const char *dir, size_t n_per_bucket, char *err);

/* Write an image as binary PPM (P6) through io/output.h. */
int scene_write_ppm(const char *path, const uint8_t *rgb, int side, char *err);

#endif
