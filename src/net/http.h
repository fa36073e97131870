/* http.h - HTTP requests over libcurl (http.c), umpire's one HTTP client: the prompt
 * optimiser's proposer (umpire_http_post: http:// only, its documented contract) and `umpire
 * serve`'s upstream, escalation and remote-media calls (umpire_web_*: http and https). */
#ifndef UMPIRE_NET_HTTP_H
#define UMPIRE_NET_HTTP_H

#include <stddef.h>

/* An http:// URL split into its parts. */
struct umpire_url {
    char host[256];
    char port[8];
    char path[2048]; /* begins with '/' */
};
/* Parse "http://HOST[:PORT][/PATH]" (HOST a name, an IPv4 address or [IPv6]); 0, or
 * UMPIRE_EINVAL with err saying what is wrong ("https is not supported", ...). */
int umpire_url_parse(const char *url, struct umpire_url *u, char *err);

struct umpire_http_response {
    int status; /* 200, 404, ... */
    int timed_out; /* on UMPIRE_EIO: 1 when the time limit ended it */
    char *body; /* NUL-terminated (the body may hold NULs of its own: use len) */
    size_t len;
};
void umpire_http_response_free(struct umpire_http_response *r);

/* POST body (content type ctype) to url, with the extra header lines `headers` ("Name: value\r\n"
 * each, or NULL). timeout_ms bounds the whole exchange (connect, send, the last byte received);
 * max_bytes bounds the response (head and body). Any status is returned as received; a
 * transport failure (refused, unreachable, timed out, a response too large or not HTTP) is
 * UMPIRE_EIO with err ("http://127.0.0.1:9/v1: connection refused"). Content-Length,
 * chunked and close-delimited bodies are read. */
int umpire_http_post(const char *url, const char *headers, const char *ctype, const char *body,
                     size_t body_len, int timeout_ms, size_t max_bytes,
                     struct umpire_http_response *out, char *err);

/* The same to an http:// or https:// URL (TLS by libcurl): `umpire serve`'s upstream and
 * escalation endpoints. */
int umpire_web_post(const char *url, const char *headers, const char *ctype, const char *body,
                    size_t body_len, int timeout_ms, size_t max_bytes,
                    struct umpire_http_response *out, char *err);
/* GET an http(s) URL, following up to 3 redirects within http and https (a remote image for
 * `umpire serve --allow-remote-media`); the same limits and errors. */
int umpire_web_get(const char *url, int timeout_ms, size_t max_bytes, struct umpire_http_response *out,
                   char *err);

#endif
