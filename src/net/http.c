/* http.c - one HTTP/1.1 POST over a plain socket (http.h). Non-blocking sockets and poll(2)
 * against one deadline for the whole exchange, so that a server that accepts and then hangs
 * costs at most timeout_ms; the response is read into memory up to max_bytes and refused
 * beyond. "Connection: close" is sent: the server may end the body by closing, or give its
 * length, or send it chunked (RFC 9112, 7.1). */
#define _POSIX_C_SOURCE 200809L
#include "net/http.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

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

static double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return 1e3 * (double)t.tv_sec + 1e-6 * (double)t.tv_nsec;
}

/* Wait until fd is ready for `events` or the deadline passes: 1 ready, 0 timed out, -1 error. */
static int wait_for(int fd, short events, double deadline) {
    for (;;) {
        double left = deadline - now_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = events};
        int r = poll(&p, 1, (int)(left + 1));
        if (r < 0 && errno == EINTR)
            continue;
        return r < 0 ? -1 : r > 0 ? 1 : 0;
    }
}

static int connect_to(const struct umpire_url *u, const char *url, double deadline, char *err) {
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res = NULL;
    int g = getaddrinfo(u->host, u->port, &hints, &res);
    if (g != 0) {
        umpire_fail(err, UMPIRE_EIO, "%s: cannot resolve %s (%s)", url, u->host, gai_strerror(g));
        return -1;
    }
    int fd = -1, why = 0;
    for (struct addrinfo *a = res; a && fd < 0; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) {
            why = errno;
            continue;
        }
        int r = connect(fd, a->ai_addr, a->ai_addrlen);
        if (r != 0 && errno == EINPROGRESS) {
            int w = wait_for(fd, POLLOUT, deadline);
            socklen_t len = sizeof why;
            if (w == 0)
                why = ETIMEDOUT;
            else if (w < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &why, &len) != 0)
                why = errno;
            r = why ? -1 : 0;
        } else if (r != 0) {
            why = errno;
        }
        if (r != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        umpire_fail(err, UMPIRE_EIO, "%s: cannot connect (%s)", url,
                    why == ETIMEDOUT ? "timed out" : strerror(why ? why : ECONNREFUSED));
    return fd;
}

/* The value of header `name` in the head (lines after the status line), or NULL. */
static const char *header(const char *head, const char *name, size_t *len) {
    size_t n = strlen(name);
    for (const char *l = strstr(head, "\r\n"); l && l[2] != '\r'; l = strstr(l + 2, "\r\n")) {
        const char *s = l + 2;
        if (!strncasecmp(s, name, n) && s[n] == ':') {
            s += n + 1;
            s += strspn(s, " \t");
            *len = strcspn(s, "\r");
            while (*len && (s[*len - 1] == ' ' || s[*len - 1] == '\t'))
                (*len)--;
            return s;
        }
    }
    return NULL;
}

/* Decode a chunked body in place: 1 complete (*len its decoded length), 0 more bytes are needed,
 * -1 malformed. */
static int dechunk(char *b, size_t n, size_t *len) {
    size_t at = 0, out = 0;
    for (;;) {
        char *eol = NULL;
        for (size_t i = at; i + 1 < n; i++)
            if (b[i] == '\r' && b[i + 1] == '\n') {
                eol = b + i;
                break;
            }
        if (!eol)
            return 0;
        size_t size = 0, digits = 0;
        for (char *c = b + at; c < eol && isxdigit((unsigned char)*c); c++, digits++) {
            if (size > ((size_t)-1 >> 8))
                return -1;
            size = size * 16 + (size_t)(isdigit((unsigned char)*c)
                                            ? *c - '0'
                                            : tolower((unsigned char)*c) - 'a' + 10);
        }
        if (!digits)
            return -1;
        at = (size_t)(eol - b) + 2;
        if (size == 0) { /* trailers, if any, then an empty line */
            int fin = n - at >= 2 && b[at] == '\r' && b[at + 1] == '\n';
            for (size_t i = at; !fin && i + 3 < n; i++)
                fin = !memcmp(b + i, "\r\n\r\n", 4);
            if (!fin)
                return 0;
            *len = out;
            b[out] = '\0';
            return 1;
        }
        if (n - at < size + 2)
            return 0;
        if (b[at + size] != '\r' || b[at + size + 1] != '\n')
            return -1;
        memmove(b + out, b + at, size);
        out += size; /* out <= at: the decoded bytes move left, over what was read already */
        at += size + 2;
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
    double deadline = now_ms() + timeout_ms;
    int fd = connect_to(&u, url, deadline, err);
    if (fd < 0)
        return UMPIRE_EIO;
    int ipv6 = strchr(u.host, ':') != NULL;
    size_t hlen =
        strlen(u.path) + strlen(u.host) + strlen(ctype) + (headers ? strlen(headers) : 0) + 160;
    char *req = malloc(hlen + body_len), *buf = NULL;
    if (!req) {
        close(fd);
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    }
    int head = snprintf(
        req, hlen,
        "POST %s HTTP/1.1\r\nHost: %s%s%s%s%s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
        "Accept: application/json\r\nConnection: close\r\n%s\r\n",
        u.path, ipv6 ? "[" : "", u.host, ipv6 ? "]" : "", strcmp(u.port, "80") ? ":" : "",
        strcmp(u.port, "80") ? u.port : "", ctype, body_len, headers ? headers : "");
    memcpy(req + head, body, body_len);
    size_t total = (size_t)head + body_len, sent = 0;
    while (rc == UMPIRE_OK && sent < total) {
        int w = wait_for(fd, POLLOUT, deadline);
        ssize_t s = w > 0 ? send(fd, req + sent, total - sent, MSG_NOSIGNAL) : -1;
        if (s < 0 && w > 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (s < 0)
            rc = umpire_fail(err, UMPIRE_EIO, "%s: %s while sending the request", url,
                             w == 0 ? "timed out" : strerror(errno));
        else
            sent += (size_t)s;
    }
    free(req);
    /* the response: read to the end of its body, the server's close, or the limit */
    size_t cap = 0, n = 0, body_at = 0, want = (size_t)-1;
    int chunked = 0, have_head = 0, done = 0;
    while (rc == UMPIRE_OK && !done) {
        if (n + 4096 + 1 > cap) {
            size_t ncap = cap ? 2 * cap : 16384;
            if (ncap > max_bytes + 4096 + 1)
                ncap = max_bytes + 4096 + 1;
            char *nb = ncap > cap ? realloc(buf, ncap) : NULL;
            if (!nb) {
                rc = ncap > cap ? umpire_fail(err, UMPIRE_ENOMEM, "out of memory")
                                : umpire_fail(err, UMPIRE_EIO, "%s: the response exceeds %zu bytes",
                                              url, max_bytes);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        int w = wait_for(fd, POLLIN, deadline);
        ssize_t r = w > 0 ? recv(fd, buf + n, cap - n - 1, 0) : -1;
        if (r < 0 && w > 0 && (errno == EAGAIN || errno == EINTR))
            continue;
        if (r < 0) {
            rc = umpire_fail(err, UMPIRE_EIO, "%s: %s while waiting for the response (%d ms)", url,
                             w == 0 ? "timed out" : strerror(errno), timeout_ms);
            break;
        }
        n += (size_t)r;
        buf[n] = '\0';
        if (n > max_bytes) {
            rc = umpire_fail(err, UMPIRE_EIO, "%s: the response exceeds %zu bytes", url, max_bytes);
            break;
        }
        if (!have_head) {
            char *e = strstr(buf, "\r\n\r\n");
            if (e) {
                have_head = 1;
                body_at = (size_t)(e - buf) + 4;
                int major, minor, status;
                char sp;
                if (sscanf(buf, "HTTP/%d.%d %3d%c", &major, &minor, &status, &sp) != 4 ||
                    sp != ' ' || status < 100) {
                    rc = umpire_fail(err, UMPIRE_EIO, "%s: not an HTTP response", url);
                    break;
                }
                out->status = status;
                size_t vlen;
                e[2] = '\0'; /* the head alone, for the header search */
                const char *v = header(buf, "Transfer-Encoding", &vlen);
                chunked = v && vlen >= 7 && !strncasecmp(v + vlen - 7, "chunked", 7);
                const char *cl = header(buf, "Content-Length", &vlen);
                e[2] = '\r';
                if (!chunked && cl) {
                    char *stop;
                    errno = 0;
                    unsigned long long L = strtoull(cl, &stop, 10);
                    if (errno || stop != cl + vlen || !vlen || !isdigit((unsigned char)*cl)) {
                        rc = umpire_fail(err, UMPIRE_EIO, "%s: a malformed Content-Length", url);
                        break;
                    }
                    if (L > max_bytes) {
                        rc = umpire_fail(err, UMPIRE_EIO, "%s: the response exceeds %zu bytes", url,
                                         max_bytes);
                        break;
                    }
                    want = (size_t)L;
                }
            } else if (r == 0) {
                rc = umpire_fail(err, UMPIRE_EIO, "%s: the connection closed %s", url,
                                 n ? "in the response's head" : "without a response");
                break;
            }
        }
        if (!have_head)
            continue;
        size_t got = n - body_at;
        if (chunked) {
            char *copy = malloc(got + 1);
            size_t len = 0;
            int d = copy ? (memcpy(copy, buf + body_at, got), dechunk(copy, got, &len)) : -2;
            if (d == -2)
                rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
            else if (d < 0)
                rc = umpire_fail(err, UMPIRE_EIO, "%s: a malformed chunked body", url);
            else if (d == 1) {
                memcpy(buf + body_at, copy, len + 1);
                n = body_at + len;
                done = 1;
            } else if (r == 0)
                rc = umpire_fail(err, UMPIRE_EIO, "%s: the connection closed inside a chunked body",
                                 url);
            free(copy);
        } else if (want != (size_t)-1) {
            if (got >= want) {
                n = body_at + want;
                done = 1;
            } else if (r == 0) {
                rc = umpire_fail(err, UMPIRE_EIO,
                                 "%s: the connection closed after %zu of %zu body bytes", url, got,
                                 want);
            }
        } else if (r == 0) {
            done = 1; /* the body ends where the server closed */
        }
    }
    close(fd);
    if (rc != UMPIRE_OK) {
        free(buf);
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->len = n - body_at;
    memmove(buf, buf + body_at, out->len);
    buf[out->len] = '\0';
    out->body = buf;
    return UMPIRE_OK;
}
