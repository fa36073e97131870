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
 * textured one) and idk (the question's shape or colour is not in the picture). */
#ifndef UMPIRE_VLORGANISM_SCENE_H
#define UMPIRE_VLORGANISM_SCENE_H

#include <stddef.h>
#include <stdint.h>

#define N_SHAPES 4
#define N_COLOURS 5
#define N_QUADS 4
#define SCENE_MAX 4
#define SCENE_IDK "I don't know"

enum pair_bucket { PAIR_FREQUENT, PAIR_RARE, PAIR_UNSEEN };
enum question_kind { Q_COLOUR, Q_SIZE, Q_WHERE, Q_WHICH, Q_COUNT, N_QUESTIONS };
enum eval_bucket { EB_KNOWN, EB_RARE, EB_UNSEEN, EB_OOD, EB_IDK, N_EVAL_BUCKETS };

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
};

/* one question about a scene: its text and answer (owned) */
struct scene_example {
    struct scene s;
    char *question, *answer;
    int kind;   /* enum question_kind */
    int bucket; /* enum eval_bucket (evaluation items) */
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
/* n evaluation examples of the bucket, drawn from their own stream. */
int scene_eval(const struct scene_world *w, int bucket, size_t n, struct scene_example **out);
void scene_examples_free(struct scene_example *ex, size_t n);

/* Every string the model reads or writes (questions, answers, the instruction). Free each
 * and the array. */
int scene_texts(char ***out, size_t *n);

/* Write the evaluation datasets into dir (existing): images/NAME.ppm and, per bucket, known.jsonl
 * rare.jsonl unseen.jsonl ood.jsonl idk.jsonl (n_per_bucket items each), heldout-mix.jsonl (a
 * third of every bucket's items) and calibration.jsonl (the rest), items in umpire eval's
 * format with "image" and "bucket"; pairs.jsonl (the world: each pair's bucket). Returns 0, or
 * a negative status with err (UMPIRE_ERR_LEN) naming the file. */
int scene_write_datasets(const struct scene_world *w, const char *dir, size_t n_per_bucket, char *err);

/* Write an image as binary PPM (P6) through io/output.h. */
int scene_write_ppm(const char *path, const uint8_t *rgb, int side, char *err);

#endif
