/* metrics.c - counters and histograms for /metrics (metrics.h). */
#define _POSIX_C_SOURCE 200809L
#include "serve/metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const route_name[ROUTE_N] = {
    "/v1/chat/completions", "/v1/uncertainty", "/v1/models", "/health", "/metrics", "other"};
static const int codes[] = {200, 400, 401, 404, 405, 408, 413, 415, 429, 499, 500, 502, 503, 504};
#define N_CODES (sizeof codes / sizeof codes[0])
static const double bounds[] = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
#define N_BOUNDS (sizeof bounds / sizeof bounds[0])

static struct {
    pthread_mutex_t mu;
    uint64_t requests[ROUTE_N][N_CODES + 1]; /* the last: another status */
    uint64_t hist[ROUTE_N][N_BOUNDS + 1];    /* per bucket (not cumulative), the last: +Inf */
    double latency_sum[ROUTE_N];
    uint64_t tokens;
    double gen_seconds;
    uint64_t verdicts[VERDICT_N];
    uint64_t escalations[2];
    uint64_t upstream[2];
    int queue, inflight, decoding, decoding_max;
} m = {.mu = PTHREAD_MUTEX_INITIALIZER};

void serve_metrics_init(void) {
    pthread_mutex_lock(&m.mu);
    memset((char *)&m + sizeof m.mu, 0, sizeof m - sizeof m.mu);
    pthread_mutex_unlock(&m.mu);
}

void serve_metrics_request(enum serve_route r, int status, double seconds) {
    size_t c = 0;
    while (c < N_CODES && codes[c] != status)
        c++;
    size_t b = 0;
    while (b < N_BOUNDS && seconds > bounds[b])
        b++;
    pthread_mutex_lock(&m.mu);
    m.requests[r][c]++;
    m.hist[r][b]++;
    m.latency_sum[r] += seconds;
    pthread_mutex_unlock(&m.mu);
}

#define LOCKED(stmt)                                                                               \
    do {                                                                                           \
        pthread_mutex_lock(&m.mu);                                                                 \
        stmt;                                                                                      \
        pthread_mutex_unlock(&m.mu);                                                               \
    } while (0)

void serve_metrics_tokens(uint64_t tokens, double seconds) {
    LOCKED((m.tokens += tokens, m.gen_seconds += seconds));
}

void serve_metrics_decoding(int now) {
    LOCKED((m.decoding = now, m.decoding_max = now > m.decoding_max ? now : m.decoding_max));
}
void serve_metrics_verdict(enum serve_verdict v) { LOCKED(m.verdicts[v]++); }
void serve_metrics_escalation(int queued) { LOCKED(m.escalations[queued != 0]++); }
void serve_metrics_upstream(int ok) { LOCKED(m.upstream[ok != 0]++); }
void serve_metrics_queue(int d) { LOCKED(m.queue += d); }
void serve_metrics_inflight(int d) { LOCKED(m.inflight += d); }
int serve_metrics_inflight_now(void) {
    int n;
    LOCKED(n = m.inflight);
    return n;
}

struct buf {
    char *s;
    size_t len, cap;
    int oom;
};

static void put(struct buf *b, const char *fmt, ...) {
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0 || b->oom) {
            b->oom = 1;
            return;
        }
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = (b->cap + (size_t)n + 1) * 2;
        char *g = realloc(b->s, cap);
        if (!g) {
            b->oom = 1;
            return;
        }
        b->s = g;
        b->cap = cap;
    }
}

char *serve_metrics_text(void) {
    struct buf b = {0};
    pthread_mutex_lock(&m.mu);
    put(&b, "# HELP umpire_requests_total HTTP requests by route and status.\n# TYPE "
            "umpire_requests_total counter\n");
    for (int r = 0; r < ROUTE_N; r++)
        for (size_t c = 0; c <= N_CODES; c++)
            if (m.requests[r][c]) {
                if (c < N_CODES)
                    put(&b, "umpire_requests_total{route=\"%s\",code=\"%d\"} %llu\n", route_name[r],
                        codes[c], (unsigned long long)m.requests[r][c]);
                else
                    put(&b, "umpire_requests_total{route=\"%s\",code=\"other\"} %llu\n",
                        route_name[r], (unsigned long long)m.requests[r][c]);
            }
    put(&b, "# HELP umpire_request_duration_seconds Request latency.\n"
            "# TYPE umpire_request_duration_seconds histogram\n");
    for (int r = 0; r < ROUTE_N; r++) {
        uint64_t cum = 0;
        for (size_t i = 0; i <= N_BOUNDS; i++) {
            cum += m.hist[r][i];
            if (i < N_BOUNDS)
                put(&b, "umpire_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
                    route_name[r], bounds[i], (unsigned long long)cum);
            else
                put(&b, "umpire_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
                    route_name[r], (unsigned long long)cum);
        }
        put(&b, "umpire_request_duration_seconds_sum{route=\"%s\"} %.6f\n", route_name[r],
            m.latency_sum[r]);
        put(&b, "umpire_request_duration_seconds_count{route=\"%s\"} %llu\n", route_name[r],
            (unsigned long long)cum);
    }
    put(&b,
        "# HELP umpire_generated_tokens_total Answer tokens decoded (all k + 1 answers).\n"
        "# TYPE umpire_generated_tokens_total counter\numpire_generated_tokens_total %llu\n"
        "# HELP umpire_generation_seconds_total Seconds the engine spent answering (busy time).\n"
        "# TYPE umpire_generation_seconds_total counter\numpire_generation_seconds_total %.6f\n"
        "# HELP umpire_tokens_per_second Generated tokens per engine second, since start.\n"
        "# TYPE umpire_tokens_per_second gauge\numpire_tokens_per_second %.3f\n",
        (unsigned long long)m.tokens, m.gen_seconds,
        m.gen_seconds > 0 ? (double)m.tokens / m.gen_seconds : 0.0);
    put(&b,
        "# HELP umpire_queue_depth Requests waiting for the engine.\n# TYPE umpire_queue_depth "
        "gauge\n"
        "umpire_queue_depth %d\n"
        "# HELP umpire_requests_in_flight Requests being served.\n# TYPE umpire_requests_in_flight "
        "gauge\n"
        "umpire_requests_in_flight %d\n"
        "# HELP umpire_requests_decoding Requests whose answers decode together now (--parallel).\n"
        "# TYPE umpire_requests_decoding gauge\numpire_requests_decoding %d\n"
        "# HELP umpire_requests_decoding_max The most requests decoded together since start.\n"
        "# TYPE umpire_requests_decoding_max gauge\numpire_requests_decoding_max %d\n",
        m.queue, m.inflight, m.decoding, m.decoding_max);
    put(&b,
        "# HELP umpire_verdicts_total Verdicts from the calibration.\n# TYPE umpire_verdicts_total "
        "counter\n"
        "umpire_verdicts_total{verdict=\"answer\"} "
        "%llu\numpire_verdicts_total{verdict=\"escalate\"} %llu\n",
        (unsigned long long)m.verdicts[0], (unsigned long long)m.verdicts[1]);
    put(&b,
        "# HELP umpire_escalations_total Escalated queries, by where they went.\n"
        "# TYPE umpire_escalations_total counter\n"
        "umpire_escalations_total{to=\"url\"} %llu\numpire_escalations_total{to=\"queue\"} %llu\n",
        (unsigned long long)m.escalations[0], (unsigned long long)m.escalations[1]);
    put(&b,
        "# HELP umpire_upstream_calls_total Calls to the upstream and escalation endpoints.\n"
        "# TYPE umpire_upstream_calls_total counter\n"
        "umpire_upstream_calls_total{result=\"error\"} "
        "%llu\numpire_upstream_calls_total{result=\"ok\"} %llu\n",
        (unsigned long long)m.upstream[0], (unsigned long long)m.upstream[1]);
    pthread_mutex_unlock(&m.mu);
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s;
}
