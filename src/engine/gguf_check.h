/* gguf_check.h - a GGUF model or projector checked before llama.cpp loads it (gguf_check.c). */
#ifndef UMPIRE_ENGINE_GGUF_CHECK_H
#define UMPIRE_ENGINE_GGUF_CHECK_H

/* Whether path is a regular, readable GGUF file whose hyper-parameters llama.cpp's loader
 * takes without aborting the process (it asserts on some instead of failing). Returns 0, or
 * UMPIRE_EIO / UMPIRE_EINVAL with "PATH: not a model llama.cpp can load (llama.block_count
 * = 0)" in err. */
int umpire_gguf_check_model(const char *path, char *err);
/* The same for a multimodal projector (mtmd's CLIP GGUF): "PATH: not a projector libmtmd can
 * use (clip.vision.attention.head_count = 3 does not divide clip.vision.embedding_length =
 * 32)". */
int umpire_gguf_check_projector(const char *path, char *err);

#endif
