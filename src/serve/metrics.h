/* metrics.h - what /metrics exposes (Prometheus text format 0.0.4): requests by route and
 * status, a latency histogram, tokens generated and the seconds spent generating them, queue
 * depth, requests in flight, verdicts, escalations and upstream calls. One mutex; every
 * function is safe to call from any thread. */
#ifndef UMPIRE_SERVE_METRICS_H
#define UMPIRE_SERVE_METRICS_H

#include <stddef.h>
#include <stdint.h>

enum serve_route {
    ROUTE_CHAT,
    ROUTE_UNCERTAINTY,
    ROUTE_MODELS,
    ROUTE_HEALTH,
    ROUTE_METRICS,
    ROUTE_OTHER,
    ROUTE_N
};
enum serve_verdict { VERDICT_ANSWER, VERDICT_ESCALATE, VERDICT_N };

void serve_metrics_init(void);
/* A finished request: its route, status and wall time. */
void serve_metrics_request(enum serve_route r, int status, double seconds);
/* Answer tokens the engine produced, and seconds it spent (busy: requests decoded together
 * count their shared time once). */
void serve_metrics_tokens(uint64_t tokens, double seconds);
/* Requests decoding together now (the gauge, and the most seen at once). */
void serve_metrics_decoding(int now);
void serve_metrics_verdict(enum serve_verdict v);
void serve_metrics_escalation(int queued); /* 0: re-asked to --escalate-url; 1: logged */
void serve_metrics_upstream(int ok);
/* Gauges: add d to the queue depth / requests in flight. */
void serve_metrics_queue(int d);
void serve_metrics_inflight(int d);
int serve_metrics_inflight_now(void);
/* The exposition text (a new string; NULL when out of memory). */
char *serve_metrics_text(void);

#endif
