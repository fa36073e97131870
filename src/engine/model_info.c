/* model_info.c - what a GGUF model (and projector) is: architecture, size, template, media. */
#include <stdio.h>
#include <string.h>

#include <llama.h>
#include <mtmd.h>

#include "core/status.h"
#include "engine/gguf_check.h"
#include "engine/log.h"

int umpire_model_info(const char *model_path, const char *mmproj_path,
                      struct umpire_model_info *out, char *err) {
    memset(out, 0, sizeof *out);
    umpire_log_clear();
    int rc = umpire_gguf_check_model(model_path, err);
    if (rc != UMPIRE_OK ||
        (mmproj_path && (rc = umpire_gguf_check_projector(mmproj_path, err)) != UMPIRE_OK))
        return rc;
    llama_backend_init();
    struct llama_model_params mp = llama_model_default_params();
    mp.vocab_only = false;
    struct llama_model *m = llama_model_load_from_file(model_path, mp);
    if (!m)
        return umpire_fail(err, UMPIRE_EINVAL, "%s: not a model llama.cpp can load (%s)", model_path,
                           umpire_log_last_error());
    llama_model_desc(m, out->description, sizeof out->description);
    llama_model_meta_val_str(m, "general.architecture", out->architecture, sizeof out->architecture);
    out->n_params = llama_model_n_params(m);
    out->size_bytes = llama_model_size(m);
    out->n_embd = llama_model_n_embd(m);
    out->n_layer = llama_model_n_layer(m);
    out->n_ctx_train = llama_model_n_ctx_train(m);
    out->n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(m));
    out->has_chat_template = llama_model_chat_template(m, NULL) != NULL;
    if (mmproj_path) {
        struct mtmd_context_params cp = mtmd_context_params_default();
        cp.use_gpu = false;
        cp.print_timings = false;
        cp.warmup = false;
        umpire_log_clear();
        mtmd_context *mctx = mtmd_init_from_file(mmproj_path, m, cp);
        if (!mctx) {
            rc = umpire_fail(err, UMPIRE_EINVAL, "%s: projector does not load with %s (%s)", mmproj_path,
                             model_path, umpire_log_last_error());
        } else {
            out->vision = mtmd_support_vision(mctx);
            out->audio = mtmd_support_audio(mctx);
            mtmd_free(mctx);
        }
    }
    llama_model_free(m);
    return rc;
}
