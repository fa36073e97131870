/* vlmodel.h - the vision-language organism: a llama organism (tools/organism/model.h) that reads
 * an image through a ViT and llava MLP projector (src/grad/vit.h), trained jointly in the
 * library's own ggml graph and saved as a llama GGUF plus an mmproj GGUF that llama.cpp and
 * libmtmd load as they load LLaVA.
 *
 * The prompt is what umpire's engine sends for an image question: the chat template around
 * "<__media__>\n" QUESTION "\n" INSTRUCTION; libmtmd cuts it at the marker, tokenizes the text
 * on each side (special tokens parsed, BOS only when the vocabulary asks for one) and puts the
 * image's n_patches embeddings in between, at consecutive positions, causally attended. The
 * graph does the same: the token rows at the image's positions are replaced by the projector's
 * output (through grad_forward's probe_embd: the row minus the token's embedding is added). */
#ifndef UMPIRE_VLORGANISM_VLMODEL_H
#define UMPIRE_VLORGANISM_VLMODEL_H

#include <stdint.h>

#include "corpus.h"
#include "grad/vit.h"
#include "model.h"
#include "vocab.h"

struct vl_model {
    struct organism_model lm;
    struct vit_model vit;
    struct ggml_tensor **all; /* the ViT's weights, then the llama's */
    int n_all;
};

#define VL_MAX_IMAGES 4

/* one training or evaluation sequence: tokens, with n_patches placeholder tokens from each
 * img_at[i] (image i, in order) */
struct vl_seq {
    int32_t *tok;
    int n, n_prompt, n_images;
    int img_at[VL_MAX_IMAGES];
};

int vl_model_init(struct vl_model *m, struct llama_shape s, int n_vocab, struct vit_hparams vh, uint64_t seed,
                  int n_threads);
void vl_model_free(struct vl_model *m);

/* The sequence of question + answer (answer NULL: the prompt only) with n_images images (1 to
 * VL_MAX_IMAGES: a clip's frames, one marker line each, as the engine writes them) as libmtmd
 * tokenizes it. */
int vl_tokenize(struct corpus *c, int n_patches, int n_images, const char *question, const char *answer,
                struct vl_seq *out);
void vl_seq_free(struct vl_seq *s);

/* The graph's rows from the token rows and the image rows: x[:, r] = token embedding, or, at
 * image row r (img_idx[r] = that row of img, img_on[r] = 1), the image embedding. */
struct ggml_tensor *vl_probe_embd(struct ggml_context *ctx, const struct vl_model *m, struct ggml_tensor *tokens,
                                  struct ggml_tensor *img, struct ggml_tensor *img_idx, struct ggml_tensor *img_on);

/* log p of every next token after each position of one sequence with its images (RGB bytes,
 * vit image size, s->n_images of them one after another), by the inference graph: out[i * n_vocab + v]. Also the projector's output
 * when embd is given ([n_patches * n_out] an image, image after image). Returns 0 or -1. */
int vl_logprobs(const struct vl_model *m, const struct vl_seq *s, const uint8_t *rgb, float *out, float *embd);

/* Save the llama GGUF (with the vocabulary) and the mmproj GGUF, each whole or not at all. */
int vl_write(const struct vl_model *m, const struct vocab *v, const char *model_path, const char *mmproj_path,
             const char *name, char *err);

#endif
