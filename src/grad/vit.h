/* vit.h - a small vision transformer and llava-style MLP projector in ggml, with autodiff: the
 * vision half of the vision-language organism (tools/vlorganism), computing what libmtmd's clip
 * graph computes for an mmproj GGUF of projector type "mlp" (tools/mtmd/models/llava.cpp).
 *
 * Image (image x image RGB, bytes) -> x = b / 255, (x - mean) / std per channel (clip's from_u8
 * and normalize; an image already at the projector's size is not resized) -> patch embedding
 * (a patch x patch convolution with stride patch, plus a bias) -> + position embedding ->
 * pre-layer-norm -> n_layer pre-norm blocks (x += W_o attn(LN1(x)) with biases but on keys,
 * where a bias adds q.b to every score of a query and softmax ignores it (its gradient is 0), x +=
 * W_down silu(W_up LN2(x) + b) + b) -> the MLP projector W_2 gelu(W_0 x + b_0) + b_2, one row per
 * patch in row-major order: the text model's input embeddings at the image's positions.
 *
 * Two builds of the same graph. Inference (train = 0) uses the ops clip runs by default on the
 * CPU (ggml_norm, ggml_gelu with its F16 table, flash attention with K and V cast to F16), so
 * it equals libmtmd to rounding; training (train = 1) attends in F32. ggml has no
 * backward for ggml_norm nor ggml_gelu, so training (train = 1) writes them from ops that
 * have one: LN(x) = rms_norm(x - mean(x)) (the same formula) and gelu(x) = x - x / (exp(2 u)
 * + 1), u = sqrt(2 / pi) (x + 0.044715 x^3) (ggml's tanh form, exactly; the table differs from
 * it by F16 rounding, below 1e-3). */
#ifndef UMPIRE_GRAD_VIT_H
#define UMPIRE_GRAD_VIT_H

#include <stdint.h>

#include <ggml-backend.h>
#include <ggml.h>

struct vit_hparams {
    int image, patch;           /* image side and patch side, pixels; image % patch == 0 */
    int n_embd, n_head, n_ff, n_layer;
    int n_out;                  /* the text model's n_embd */
    float eps;                  /* layer norm epsilon */
    float mean[3], std[3];      /* per-channel normalisation */
};

struct vit_layer {
    struct ggml_tensor *ln1_w, *ln1_b, *q_w, *q_b, *k_w, *v_w, *v_b, *o_w, *o_b;
    struct ggml_tensor *ln2_w, *ln2_b, *up_w, *up_b, *down_w, *down_b;
};

struct vit_model {
    struct vit_hparams hp;
    struct ggml_context *ctx;
    ggml_backend_buffer_t buf;
    struct ggml_tensor *patch_w, *patch_b, *pos, *pre_ln_w, *pre_ln_b;
    struct vit_layer *layers;
    struct ggml_tensor *mm0_w, *mm0_b, *mm2_w, *mm2_b;
    struct ggml_tensor **all; /* every weight, named as in an mmproj GGUF */
    int n_all;
};

/* CLIP's normalisation (OpenAI), the llava default. */
struct vit_hparams vit_default_hparams(void);

/* Patches per image: (image / patch)^2, the image's tokens in the text model's prompt. */
int vit_n_patches(const struct vit_hparams *hp);

/* Fresh F32 weights in backend's buffer, every one a ggml parameter, initialised from seed
 * (N(0, 0.02^2) matrices and embeddings, unit norm weights, zero biases). Returns 0 or -1. */
int vit_create(struct vit_model *m, struct vit_hparams hp, ggml_backend_t backend, uint64_t seed);
void vit_free(struct vit_model *m);

/* Preprocess n images (RGB bytes, row-major, image x image each) into out, F32 [image, image,
 * 3, n] (ggml's layout of clip's inp_raw): planar channels, normalised as libmtmd does. */
void vit_preprocess(const struct vit_hparams *hp, const uint8_t *rgb, int n, float *out);

/* The graph from pixels (F32 [image, image, 3, n], vit_preprocess's layout) to the projected
 * embeddings [n_out, n_patches * n], image after image. */
struct ggml_tensor *vit_build(struct ggml_context *ctx, const struct vit_model *m, struct ggml_tensor *pixels,
                              int train);

/* The mmproj's metadata (clip.* keys, projector type mlp) into a GGUF being built; the tensors
 * are m->all under their own names. */
struct gguf_context;
void vit_write_gguf_keys(const struct vit_model *m, struct gguf_context *g, const char *name);

#endif
