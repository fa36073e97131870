/* http.c - one HTTP/1.1 POST (http.h) over libcurl, the HTTP client umpire uses everywhere
 * (the prompt optimiser's proposer here, `umpire serve`'s upstream and escalation calls):
 * one time limit for the whole exchange, so that a server that accepts and then hangs costs at
 * most timeout_ms; the response (head and body) read into memory up to max_bytes and refused
 * beyond. The server may give the body's length, send it chunked, or end it by closing. */
#define _POSIX_C_SOURCE 200809L
#include "net/http.h"

#include <curl/curl.h>
#include <pthread.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/status.h"

int umpire_url_parse(const char *url, struct umpire_url *u, char *err) {
    memset(u, 0, sizeof *u);
    for (const char *c = url; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f)
            return umpire_fail(err, UMPIRE_EINVAL,
                               "%s: a URL holds no spaces or control characters", url);
    if (!strncasecmp(url, "https://", 8))
        return umpire_fail(err, UMPIRE_EINVAL,
                           "%s: https is not supported (plain http:// only; put a local proxy "
                           "in front of a TLS endpoint)",
                           url);
    if (strncasecmp(url, "http://", 7))
        return umpire_fail(err, UMPIRE_EINVAL, "%s: not an http:// URL", url);
    const char *h = url + 7, *end;
    size_t n;
    if (*h == '[') { /* [IPv6] */
        if (!(end = strchr(h, ']')))
            return umpire_fail(err, UMPIRE_EINVAL, "%s: '[' without ']'", url);
        n = (size_t)(end - h - 1);
        h++;
        end++;
    } else {
        end = h + strcspn(h, ":/?#");
        n = (size_t)(end - h);
    }
    if (n == 0 || n >= sizeof u->host)
        return umpire_fail(err, UMPIRE_EINVAL, "%s: %s host", url, n ? "too long a" : "no");
    memcpy(u->host, h, n);
    strcpy(u->port, "80");
    if (*end == ':') {
        const char *p = ++end;
        unsigned long port = 0;
        while (isdigit((unsigned char)*end) && port <= 65535)
            port = port * 10 + (unsigned long)(*end++ - '0');
        if (end == p || port == 0 || port > 65535 || (*end && *end != '/'))
            return umpire_fail(err, UMPIRE_EINVAL, "%s: the port must be 1..65535", url);
        snprintf(u->port, sizeof u->port, "%lu", port);
    }
    if (*end && *end != '/')
        return umpire_fail(err, UMPIRE_EINVAL, "%s: expected a path after the host", url);
    if (strlen(*end ? end : "/") >= sizeof u->path)
        return umpire_fail(err, UMPIRE_EINVAL, "%s: the path is too long", url);
    strcpy(u->path, *end ? end : "/");
    return UMPIRE_OK;
}

void umpire_http_response_free(struct umpire_http_response *r) {
    free(r->body);
    memset(r, 0, sizeof *r);
}

struct sink {
    char *buf;
    size_t len, seen, max; /* seen: head and body bytes received */
    int over;
};

/* A header line; a Content-Length beyond the limit is refused before the body comes. */
static size_t on_head(char *p, size_t size, size_t n, void *ud) {
    struct sink *k = ud;
    k->seen += size * n;
    if (size * n > 15 && !strncasecmp(p, "Content-Length:", 15)) {
        char num[32];
        size_t m = size * n - 15 < sizeof num - 1 ? size * n - 15 : sizeof num - 1;
        memcpy(num, p + 15, m);
        num[m] = '\0';
        unsigned long long announced = strtoull(num, NULL, 10);
        if (announced > k->max - (k->seen < k->max ? k->seen : k->max))
            k->over = 1;
    }
    if (k->over || k->seen > k->max) {
        k->over = 1;
        return 0;
    }
    return size * n;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
    struct sink *k = ud;
    size_t m = size * n;
    k->seen += m;
    if (k->seen > k->max) {
        k->over = 1;
        return 0;
    }
    char *g = realloc(k->buf, k->len + m + 1);
    if (!g)
        return 0;
    memcpy(g + k->len, p, m);
    k->len += m;
    g[k->len] = '\0';
    k->buf = g;
    return m;
}

/* libcurl's global initialisation, once per process (curl_global_init is not thread-safe). */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;
static void curl_init(void) { curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

/* One exchange: a POST of body (ctype, the caller's header lines) or, body NULL, a GET that
 * follows up to 3 redirects; protocols "http" or "http,https". */
static int transfer(const char *url, const char *protocols, const char *headers, const char *ctype,
                    const char *body, size_t body_len, int timeout_ms, size_t max_bytes,
                    struct umpire_http_response *out, char *err) {
    pthread_once(&curl_once, curl_init);
    CURL *c = curl_init_rc == CURLE_OK ? curl_easy_init() : NULL;
    if (!c)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory (libcurl)");
    /* the caller's header lines ("Name: value\r\n" each), then the content type; no
     * "Expect: 100-continue" round trip */
    struct curl_slist *h = NULL;
    char line[1024];
    for (const char *p = headers; p && *p;) {
        size_t n = strcspn(p, "\r\n");
        if (n && n < sizeof line) {
            memcpy(line, p, n);
            line[n] = '\0';
            h = curl_slist_append(h, line);
        }
        p += n;
        p += strspn(p, "\r\n");
    }
    if (body) {
        snprintf(line, sizeof line, "Content-Type: %s", ctype);
        h = curl_slist_append(h, line);
        h = curl_slist_append(h, "Expect:");
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    } else {
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
        curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, protocols);
    }
    struct sink k = {.max = max_bytes};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, protocols);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_head);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &k);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &k);
    CURLcode cr = curl_easy_perform(c);
    long status = 0, os_errno = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(c, CURLINFO_OS_ERRNO, &os_errno);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (cr == CURLE_OK) {
        out->status = (int)status;
        out->body = k.buf ? k.buf : calloc(1, 1);
        out->len = k.len;
        return out->body ? UMPIRE_OK : umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    }
    free(k.buf);
    if (k.over)
        return umpire_fail(err, UMPIRE_EIO, "%s: the response exceeds %zu bytes", url, max_bytes);
    switch (cr) {
    case CURLE_COULDNT_RESOLVE_HOST:
        return umpire_fail(err, UMPIRE_EIO, "%s: cannot resolve the host", url);
    case CURLE_COULDNT_CONNECT:
        return umpire_fail(err, UMPIRE_EIO, "%s: cannot connect (%s)", url,
                           os_errno ? strerror((int)os_errno) : curl_easy_strerror(cr));
    case CURLE_OPERATION_TIMEDOUT:
        out->timed_out = 1;
        return umpire_fail(err, UMPIRE_EIO, "%s: timed out while waiting for the response (%d ms)",
                           url, timeout_ms);
    case CURLE_WEIRD_SERVER_REPLY:
        return umpire_fail(err, UMPIRE_EIO, "%s: not an HTTP response", url);
    case CURLE_OUT_OF_MEMORY:
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    default:
        return umpire_fail(err, UMPIRE_EIO, "%s: %s", url, curl_easy_strerror(cr));
    }
}

int umpire_http_post(const char *url, const char *headers, const char *ctype, const char *body,
                     size_t body_len, int timeout_ms, size_t max_bytes,
                     struct umpire_http_response *out, char *err) {
    memset(out, 0, sizeof *out);
    struct umpire_url u;
    int rc = umpire_url_parse(url, &u, err);
    if (rc != UMPIRE_OK)
        return rc;
    return transfer(url, "http", headers, ctype, body, body_len, timeout_ms, max_bytes, out, err);
}

/* http:// or https://, nothing else (libcurl checks the rest). */
static int web_url(const char *url, char *err) {
    for (const char *c = url; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f)
            return umpire_fail(err, UMPIRE_EINVAL,
                               "%s: a URL holds no spaces or control characters", url);
    if (strncasecmp(url, "http://", 7) && strncasecmp(url, "https://", 8))
        return umpire_fail(err, UMPIRE_EINVAL, "%s: not an http:// or https:// URL", url);
    return UMPIRE_OK;
}

int umpire_web_post(const char *url, const char *headers, const char *ctype, const char *body,
                    size_t body_len, int timeout_ms, size_t max_bytes,
                    struct umpire_http_response *out, char *err) {
    memset(out, 0, sizeof *out);
    int rc = web_url(url, err);
    return rc ? rc
              : transfer(url, "http,https", headers, ctype, body, body_len, timeout_ms, max_bytes,
                         out, err);
}

int umpire_web_get(const char *url, int timeout_ms, size_t max_bytes, struct umpire_http_response *out,
                   char *err) {
    memset(out, 0, sizeof *out);
    int rc = web_url(url, err);
    return rc ? rc : transfer(url, "http,https", NULL, NULL, NULL, 0, timeout_ms, max_bytes, out, err);
}
