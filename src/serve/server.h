/* server.h - `umpire serve`: an OpenAI-compatible HTTP gateway over the engine (libmicrohttpd,
 * a thread per connection; the engine behind one worker queue, worker.h). Routes:
 *
 *   POST /v1/chat/completions  the answer, with an "uncertainty" object (every score, alpha, k;
 *                              p_error and verdict with a calibration); stream: true as SSE,
 *                              the uncertainty in the last chunk
 *   POST /v1/uncertainty       score given answers (teacher-forced through the local model)
 *   GET  /v1/models, /health, /metrics (Prometheus text)
 *
 * Modes: local (the GGUF answers); black-box (upstream set: it answers k times, the local model
 * scores by teacher forcing); escalation (with a calibration: a query whose verdict is
 * "escalate" is re-asked to escalate_url, or appended to escalate_log).
 * Errors are OpenAI's shape: {"error": {"message", "type", "param", "code"}}. */
#ifndef UMPIRE_SERVE_SERVER_H
#define UMPIRE_SERVE_SERVER_H

#include "serve/request.h"
#include "umpire.h"

struct serve_config {
    const char *host;             /* "127.0.0.1" */
    int port;                     /* 0: any free port (printed) */
    const char *port_file;        /* or NULL: the port is written there once listening (tests) */
    const char *model_name;       /* the id /v1/models lists */
    struct umpire_engine *engine; /* opened; the server owns it from serve_run on */
    struct umpire_query query;    /* system, instruction, style: the defaults of every request */
    struct umpire_sample_params sample;   /* k, seed, temperatures, max_tokens: the defaults */
    struct umpire_judge_params judge;   /* extra passes after each answer (none by default) */
    struct umpire_score_params score;     /* how the uncertainty is computed (the calibration's) */
    const struct umpire_calibration *cal; /* or NULL: no p_error / verdict */
    struct serve_limits lim;
    size_t max_body;       /* request body bytes */
    int max_connections;   /* connections served at once (more are refused by the socket layer) */
    int max_queue;         /* requests waiting for the engine (more: 429 with Retry-After) */
    int parallel;          /* requests decoded together (the engine's slots): 4 */
    double timeout;        /* seconds a request may wait for its answer (504 after) */
    int idle_timeout;      /* seconds a connection may stay silent (slow clients) */
    double body_timeout;   /* seconds to receive a whole request body (408 after) */
    double header_timeout; /* seconds to receive a request's headers (closed after) */
    double drain_timeout;  /* on SIGTERM: seconds to let requests in flight finish */
    const char *keys_file; /* bearer tokens, one a line; NULL: no auth */
    const char *upstream;  /* black-box: the OpenAI-compatible base URL (the first of upstream_urls) */
    const char *const *upstream_urls; /* n_upstream of them: a pool (serve/pool.h) */
    int n_upstream;
    const char *upstream_key_env, *upstream_model;
    const char *escalate_url; /* re-ask escalated queries here (the first of escalate_urls) */
    const char *const *escalate_urls;
    int n_escalate;
    int health_ms; /* the pools' health-check period (0: none) */
    const char *escalate_key_env, *escalate_model;
    const char *escalate_log; /* or append them to this JSONL (--escalate-to queue) */
    int upstream_timeout_ms, upstream_retries;
};
void serve_config_defaults(struct serve_config *c);

/* Serve until SIGTERM or SIGINT, then drain and return 0; -1 with err when it cannot start.
 * Progress and the listening address on stderr. Closes the engine in every case. */
int serve_run(struct serve_config *c, char *err);

#endif
