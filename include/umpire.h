/* umpire.h - the public C API of libumpire.
 *
 * umpire tells how likely an LLM's answer is wrong: it scores a set of sampled answers
 * (UMPIRE's incoherence-adjusted semantic volume and the standard baselines), calibrates the
 * score into an error probability, and measures how well scores detect wrong answers.
 *
 * Conventions: every exported name starts with umpire_; functions that can fail return 0 on
 * success and a negative umpire_status on error, with a message in the caller's `err` buffer
 * (UMPIRE_ERR_LEN bytes) when one is given. The library never exits and never prints.
 */
#ifndef UMPIRE_H
#define UMPIRE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UMPIRE_ERR_LEN 256

enum umpire_status {
    UMPIRE_OK = 0,
    UMPIRE_EINVAL = -1, /* bad argument or malformed input */
    UMPIRE_ENOMEM = -2, /* out of memory */
    UMPIRE_EIO = -3,    /* file could not be read or written */
    UMPIRE_ENUM = -4,   /* a numerical routine failed */
};

/* ------------------------------------------------------------------ version */

/* umpire's version ("0.1.0"); a static string. */
const char *umpire_version(void);
/* The llama.cpp release tag umpire was built against ("v0.5.0"); a static string. */
const char *umpire_llama_tag(void);
/* The version of the ggml linked in ("0.25.1"); a static string. */
const char *umpire_ggml_version(void);

/* ------------------------------------------------------------------ models */

struct umpire_model_info {
    char description[128]; /* llama.cpp's one-line description, e.g. "llama ?B F32" */
    char architecture[64]; /* general.architecture */
    uint64_t n_params;
    uint64_t size_bytes;
    int n_embd, n_layer, n_ctx_train, n_vocab;
    int has_chat_template;
    int vision, audio; /* what the projector reads, when one was given */
};

/* Load MODEL (and the projector MMPROJ, or NULL) and describe them. Returns 0, or a negative
 * umpire_status with a message naming the file in err. Nothing is kept loaded. */
int umpire_model_info(const char *model_path, const char *mmproj_path,
                      struct umpire_model_info *out, char *err);

/* Let llama.cpp's and libmtmd's own log lines through to stderr (off by default). */
void umpire_set_verbose(int on);

#ifdef __cplusplus
}
#endif

#endif /* UMPIRE_H */
