/* fuzz_serve_request.c - libFuzzer target for `umpire serve`'s request parser
 * (src/serve/request.c): any body, as chat completions or /v1/uncertainty, gives either an error in
 * OpenAI's shape (a 4xx/5xx status, a type, a NUL-terminated message) or a request whose fields
 * keep the limits (a question, media within the size limit, n and k within k_max, max_tokens within
 * the limit, 2 or more answers for /v1/uncertainty); never a crash, a leak or undefined behaviour.
 * Built with clang -fsanitize=fuzzer by tests/CMakeLists.txt; run briefly by ctest. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "serve/request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const struct serve_limits lim = {
        .max_media_bytes = 4096, .max_media = 3, .k_max = 8, .max_tokens = 64, .max_answers = 8};
    char *body = malloc(size + 1); /* the server keeps a NUL after the body */
    if (!body)
        return 0;
    memcpy(body, data, size);
    body[size] = '\0';
    for (int kind = 0; kind < 2; kind++) {
        struct serve_request r;
        struct serve_error e;
        memset(&e, 0, sizeof e);
        if (serve_request_parse(body, size, kind ? SERVE_UNCERTAINTY : SERVE_CHAT, &lim, &r, &e) !=
            0) {
            assert(e.status >= 400 && e.status < 600 && e.type[0] && e.message[0]);
            assert(memchr(e.message, '\0', sizeof e.message) &&
                   memchr(e.param, '\0', sizeof e.param));
            continue;
        }
        assert(r.question && r.body_messages);
        assert(r.n >= 1 && r.n <= lim.k_max + 1 && r.k >= -1 && r.k <= lim.k_max);
        assert(r.max_tokens >= 0 && r.max_tokens <= lim.max_tokens);
        assert(r.n_media <= lim.max_media);
        for (size_t i = 0; i < r.n_media; i++) {
            assert(!r.media[i].url && r.media[i].len > 0 && r.media[i].len <= lim.max_media_bytes);
            assert(i == 0 || !r.media[i - 1].audio || r.media[i].audio); /* images first */
        }
        assert(kind == 0 ? r.n_answers == 0 : r.n_answers >= 2 && r.n_answers <= lim.max_answers);
        serve_request_free(&r);
    }
    free(body);
    return 0;
}
