/* header_timeout.h - the header timeout of `umpire serve`: a connection whose request headers
 * have not all arrived within a time limit is cut (a slowloris client that sends its headers a
 * byte at a time is never idle, so libmicrohttpd's idle timeout never closes it: measured, a
 * byte every 0.5 s held a connection 40 s with --idle-timeout 2). The clock starts when the
 * connection opens and again when each of its requests ends (keep-alive: the next request's
 * headers). A watch thread shuts down the socket of a connection over the limit; it holds a
 * duplicate of the socket's descriptor, so that a descriptor the server closed and the system
 * gave to another connection is never the one shut down. */
#ifndef UMPIRE_SERVE_HEADER_TIMEOUT_H
#define UMPIRE_SERVE_HEADER_TIMEOUT_H

struct serve_hdr_watch;
struct serve_hdr_conn;

/* Start the watch (timeout in seconds > 0). Returns 0 and *out, or -1. */
int serve_hdr_watch_start(double timeout, struct serve_hdr_watch **out);
/* Stop the thread and free everything (every connection removed or not). */
void serve_hdr_watch_stop(struct serve_hdr_watch *w);
/* Watch a new connection's socket fd (its clock starts now). Returns its record, or NULL when
 * it cannot be watched (out of memory or descriptors: it is then not cut). */
struct serve_hdr_conn *serve_hdr_watch_add(struct serve_hdr_watch *w, int fd);
/* headers = 1: a request's headers arrived (its clock stops); 0: the request ended (the clock
 * starts again for the next one). c may be NULL. */
void serve_hdr_watch_mark(struct serve_hdr_watch *w, struct serve_hdr_conn *c, int headers);
/* The connection closed: forget it. c may be NULL. */
void serve_hdr_watch_remove(struct serve_hdr_watch *w, struct serve_hdr_conn *c);

#endif
