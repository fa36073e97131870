/* request.h - the body of an OpenAI chat-completions request (and of umpire's /v1/uncertainty)
 * read into what the engine is asked: the system text, the user's question, its images and
 * audio (decoded from data: URIs), the sampling settings. Pure C over cJSON, no HTTP and no
 * llama.cpp: the HTTP layer hands it bytes, the fuzz target too (tests/fuzz/fuzz_serve_request.c).
 *
 * What is refused, with the OpenAI error shape's status, type and param: malformed JSON, a
 * value of the wrong type or out of range, an unknown top-level field (OpenAI's API refuses
 * those too: a misspelt "max_token" is not silently ignored), a conversation umpire cannot put
 * as one query (a tool turn, turns that do not alternate user / assistant, a last turn that is not
 * the user's, media in an earlier turn: only the question's turn may carry images and audio),
 * a media part that is not a base64
 * data: URI (an http(s) URL only with allow_remote_media: the server fetches it), bad base64, media
 * beyond the size limit. */
#ifndef UMPIRE_SERVE_REQUEST_H
#define UMPIRE_SERVE_REQUEST_H

#include <stddef.h>
#include <stdint.h>

#include "umpire.h"

/* An OpenAI-shaped error: {"error": {"message", "type", "param", "code"}} with an HTTP status. */
struct serve_error {
    int status;      /* 400, 401, 404, 413, 415, 429, 500, 503, 504 */
    char type[40];   /* "invalid_request_error", "rate_limit_error", "server_error", ... */
    char param[128]; /* the offending field ("messages[1].content[0].image_url"), or "" */
    char code[40];   /* "invalid_api_key", "queue_full", ..., or "" */
    char message[320];
};
/* Fill e and return -1. */
int serve_error_set(struct serve_error *e, int status, const char *type, const char *param,
                    const char *code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

struct serve_media {
    unsigned char *data;
    size_t len;
    int audio;   /* 0: an image */
    char ext[8]; /* "png", "wav", ...: the temporary file's extension */
    char *url;   /* an image to fetch (data NULL until then), or NULL */
};
/* The file extension for image bytes (by their magic; else from the media type). */
const char *serve_image_ext(const char *mime, const unsigned char *d, size_t n);

struct serve_limits {
    size_t max_media_bytes; /* each decoded image or clip */
    size_t max_media;       /* media parts in a request */
    int k_max;              /* samples a request may ask for */
    int max_tokens;         /* the largest max_tokens (and the default) */
    size_t max_answers;     /* /v1/uncertainty: answers to score */
    int allow_remote_media; /* image_url may be an http(s) URL (kept in media[i].url) */
};

enum serve_kind { SERVE_CHAT, SERVE_UNCERTAINTY };

struct serve_request {
    char *model;               /* as sent, or NULL */
    char *system;              /* the system (and developer) messages joined, or NULL */
    char *question;            /* the last user message's text parts joined */
    struct umpire_turn *history; /* the earlier user and assistant turns (text; strings owned) */
    size_t n_history;
    struct serve_media *media; /* images first, then audio, as the engine orders them */
    size_t n_media;
    int n;              /* choices to return: 1 (at most k + 1) */
    int k;              /* sampled answers for the uncertainty: -1 = the server's */
    double temperature; /* the returned answer's temperature; NaN = the server's */
    double top_p;       /* NaN = the server's */
    int max_tokens;     /* 0 = the server's */
    int has_seed;
    uint64_t seed;
    int stream, include_usage;
    int logprobs;
    char **stop;
    size_t n_stop;
    char **answers; /* /v1/uncertainty: the answers to score */
    size_t n_answers;
    char *body_messages; /* the "messages" array re-serialised (for upstream and the
                            escalation log) */
    size_t system_len, question_len;
};

/* Parse body[0..len) (body[len] must be a NUL; a NUL inside is refused). Returns 0 and fills r
 * (free with serve_request_free), or -1 with e. */
int serve_request_parse(const char *body, size_t len, enum serve_kind kind,
                        const struct serve_limits *lim, struct serve_request *r,
                        struct serve_error *e);
void serve_request_free(struct serve_request *r);

#endif
