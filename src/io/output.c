/* output.c - every file umpire writes: through a hidden temporary file renamed into place, or
 * written through when the target is not a regular file; cleaned up on failure and on signals
 * (output.h says what each case does). */
#define _GNU_SOURCE
#include "io/output.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/status.h"

/* ---------------------------------------------------------------- temporary files in flight */

/* What the signal handler removes: a directory descriptor and a short name, in static storage
 * (unlinkat is async-signal-safe; a name relative to a descriptor still holds after a chdir, and
 * never outgrows PATH_MAX). A slot is claimed with a compare-and-swap (threads), and armed and
 * freed with the caught signals blocked, so that a signal sees a file that exists or none. */
enum { SLOT_FREE, SLOT_CLAIMED, SLOT_ARMED };
#define N_SLOTS 16
#define TMP_PREFIX ".umpire-"
static struct {
    atomic_int state;
    int dir;
    char name[sizeof TMP_PREFIX + 8];
} inflight[N_SLOTS];

static const int caught[] = {SIGHUP,  SIGINT,  SIGQUIT, SIGTERM, SIGPIPE,
                             SIGALRM, SIGUSR1, SIGUSR2, SIGXCPU, SIGXFSZ};
#define N_CAUGHT (sizeof caught / sizeof caught[0])

void umpire_output_cleanup(void) {
    for (int i = 0; i < N_SLOTS; i++)
        if (atomic_load(&inflight[i].state) == SLOT_ARMED)
            unlinkat(inflight[i].dir, inflight[i].name, 0);
}

/* Installed with SA_RESETHAND: the action is the default again when this runs; the signal,
 * raised once more, is delivered as soon as it is unblocked, and ends the process as it would
 * have without umpire. */
static void on_signal(int sig) {
    umpire_output_cleanup();
    raise(sig);
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, sig);
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
}

static void caught_set(sigset_t *s) {
    sigemptyset(s);
    for (size_t i = 0; i < N_CAUGHT; i++)
        sigaddset(s, caught[i]);
}

/* Catch the signals whose action is the default, once per process. */
static void catch_signals(void) {
    static atomic_int done;
    if (atomic_exchange(&done, 1))
        return;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND;
    caught_set(&sa.sa_mask); /* one cleanup at a time */
    for (size_t i = 0; i < N_CAUGHT; i++) {
        struct sigaction old;
        if (sigaction(caught[i], NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) &&
            old.sa_handler == SIG_DFL)
            sigaction(caught[i], &sa, NULL);
    }
}

/* Create dir/.umpire-XXXXXX exclusively and arm a slot for it. Returns the descriptor, or -1
 * with errno. */
static int create_temp(struct umpire_output *o, mode_t mode) {
    int slot = -1;
    for (int i = 0; i < N_SLOTS && slot < 0; i++) {
        int expected = SLOT_FREE;
        if (atomic_compare_exchange_strong(&inflight[i].state, &expected, SLOT_CLAIMED))
            slot = i;
    }
    if (slot < 0) {
        errno = EMFILE; /* more files in flight at once than umpire ever writes */
        return -1;
    }
    static atomic_uint_fast64_t counter;
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    uint64_t x = ((uint64_t)t.tv_sec << 32) ^ (uint64_t)t.tv_nsec ^ ((uint64_t)getpid() << 16) ^
                 atomic_fetch_add(&counter, 1) * 0x9e3779b97f4a7c15ULL;
    static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    char name[sizeof inflight[0].name];
    int fd = -1;
    sigset_t s, old;
    caught_set(&s);
    catch_signals();
    for (int tries = 0; tries < 100 && fd < 0; tries++) {
        x += 0x9e3779b97f4a7c15ULL; /* splitmix64: a fresh name after a collision */
        uint64_t z = x;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        z ^= z >> 31;
        memcpy(name, TMP_PREFIX, sizeof TMP_PREFIX - 1);
        for (size_t k = 0; k < 6; k++, z /= 62)
            name[sizeof TMP_PREFIX - 1 + k] = letters[z % 62];
        name[sizeof TMP_PREFIX + 5] = '\0';
        pthread_sigmask(SIG_BLOCK, &s, &old);
        fd = openat(o->dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        int e = errno;
        if (fd >= 0) {
            inflight[slot].dir = o->dir;
            memcpy(inflight[slot].name, name, sizeof name);
            atomic_store(&inflight[slot].state, SLOT_ARMED);
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        errno = e;
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        int e = errno;
        atomic_store(&inflight[slot].state, SLOT_FREE);
        errno = e;
        return -1;
    }
    o->slot = slot;
    return fd;
}

/* Rename the temporary file over the target (put != 0) or remove it, and free its slot. Returns
 * 0, or an errno value. */
static int finish_temp(struct umpire_output *o, const char *base, int put) {
    sigset_t s, old;
    caught_set(&s);
    pthread_sigmask(SIG_BLOCK, &s, &old);
    int e = 0;
    if (put && renameat(o->dir, inflight[o->slot].name, o->dir, base) != 0)
        e = errno;
    if (!put || e)
        unlinkat(o->dir, inflight[o->slot].name, 0);
    atomic_store(&inflight[o->slot].state, SLOT_FREE);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    o->slot = -1;
    return e;
}

/* ---------------------------------------------------------------- where the bytes go */

/* Whether the directory holding path is in /proc: a descriptor's link (/proc/self/fd/1), which
 * names an open file rather than a place. */
static int in_proc(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    char *real = dir ? realpath(dir, NULL) : NULL;
    int yes = real && !strncmp(real, "/proc/", 6);
    free(dir);
    free(real);
    return yes;
}

/* path with the symlinks at its end followed (the directories on the way are the kernel's to
 * follow), malloc'd; a descriptor's link is not followed but flagged. NULL with errno. */
static char *follow(const char *path, int *fd_link) {
    char *cur = strdup(path);
    for (int hops = 0; cur; hops++) {
        struct stat st;
        if (lstat(cur, &st) != 0 || !S_ISLNK(st.st_mode))
            return cur; /* a file, or no file yet: opening it tells what is wrong, if anything */
        if (in_proc(cur)) {
            *fd_link = 1;
            return cur;
        }
        char link[PATH_MAX];
        ssize_t n = hops < 40 ? readlink(cur, link, sizeof link - 1) : -1;
        if (n < 0) {
            int e = hops < 40 ? errno : ELOOP;
            free(cur);
            errno = e;
            return NULL;
        }
        link[n] = '\0';
        const char *slash = strrchr(cur, '/');
        char *next;
        if (link[0] == '/' || !slash) {
            next = strdup(link);
        } else { /* relative to the link's directory */
            size_t d = (size_t)(slash - cur) + 1;
            if ((next = malloc(d + (size_t)n + 1))) {
                memcpy(next, cur, d);
                memcpy(next + d, link, (size_t)n + 1);
            }
        }
        free(cur);
        cur = next;
    }
    errno = ENOMEM;
    return NULL;
}

/* A descriptor's link: standard output or error itself when it names that file (written where
 * the shell's redirection left it), else the file it names, opened (regular: truncated). */
static int open_fd_link(const char *dest) {
    struct stat st, sd;
    if (stat(dest, &st) != 0)
        return -1;
    for (int fd = STDOUT_FILENO; fd <= STDERR_FILENO; fd++)
        if (fstat(fd, &sd) == 0 && sd.st_dev == st.st_dev && sd.st_ino == st.st_ino) {
            fflush(fd == STDOUT_FILENO ? stdout : stderr);
            return fcntl(fd, F_DUPFD_CLOEXEC, 0);
        }
    return open(dest, O_WRONLY | O_NOCTTY | O_CLOEXEC | (S_ISREG(st.st_mode) ? O_TRUNC : 0));
}

static void output_free(struct umpire_output *o) {
    if (o->dir >= 0)
        close(o->dir);
    free(o->path);
    free(o->dest);
    free(o->tmp);
    *o = (struct umpire_output){.dir = -1, .slot = -1};
}

/* Open dest (its symlinks followed): a temporary file beside a regular file or a new name, the
 * file itself otherwise. Returns the descriptor, or a negative status with err. */
static int open_dest(struct umpire_output *o, char *err) {
    const char *path = o->path, *slash = strrchr(o->dest, '/'), *base = slash ? slash + 1 : o->dest;
    if (!*base)
        return umpire_fail(err, UMPIRE_EINVAL, "%s: is a directory, not a file", path);
    char *dir =
        slash ? strndup(o->dest, slash == o->dest ? 1 : (size_t)(slash - o->dest)) : strdup(".");
    if (!dir)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    int rc = UMPIRE_OK, fd = -1;
    struct stat st;
    if ((o->dir = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        rc = umpire_fail(err, UMPIRE_EIO, "%s: cannot write into %s (%s)", path, dir,
                         strerror(errno));
    } else if (fstatat(o->dir, base, &st, AT_SYMLINK_NOFOLLOW) != 0) {
        if (errno != ENOENT)
            rc = umpire_fail(err, UMPIRE_EIO, "%s: %s", path, strerror(errno));
        else if ((fd = create_temp(o, 0666)) < 0) /* a new file: 0666 & ~umask, as fopen */
            rc = umpire_fail(err, UMPIRE_EIO, "%s: cannot create a file in %s (%s)", path, dir,
                             strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
        rc = umpire_fail(err, UMPIRE_EINVAL, "%s: is a directory, not a file", path);
    } else if (S_ISLNK(st.st_mode)) {
        rc = umpire_fail(err, UMPIRE_EIO, "%s: changed into a symlink while being opened", path);
    } else if (!S_ISREG(st.st_mode)) { /* a device, a FIFO, a socket: written through */
        if ((fd = openat(o->dir, base, O_WRONLY | O_NOCTTY | O_CLOEXEC)) < 0)
            rc = umpire_fail(err, UMPIRE_EIO, "%s: cannot open for writing (%s)", path,
                             strerror(errno));
        close(o->dir);
        o->dir = -1;
    } else if (faccessat(o->dir, base, W_OK, AT_EACCESS) != 0) {
        rc =
            umpire_fail(err, UMPIRE_EIO, "%s: cannot open for writing (%s)", path, strerror(errno));
    } else if ((fd = create_temp(o, 0600)) < 0) {
        rc = umpire_fail(err, UMPIRE_EIO, "%s: cannot create a file in %s (%s)", path, dir,
                         strerror(errno));
    } else { /* the old file's owner, where allowed, then its permission bits */
        if (fchown(fd, st.st_uid, st.st_gid) != 0 && fchown(fd, (uid_t)-1, st.st_gid) != 0)
            errno = 0; /* not ours to give: the new file is the writer's, as a copy would be */
        if (fchmod(fd, st.st_mode & 0777) != 0) {
            rc = umpire_fail(err, UMPIRE_EIO, "%s: cannot keep its mode (%s)", path,
                             strerror(errno));
            close(fd);
            finish_temp(o, base, 0);
            fd = -1;
        }
    }
    if (rc == UMPIRE_OK && o->slot >= 0) {
        size_t n = strlen(dir) + sizeof inflight[0].name + 1;
        if ((o->tmp = malloc(n)))
            snprintf(o->tmp, n, "%s/%s", dir, inflight[o->slot].name);
        else {
            rc = umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
            close(fd);
            finish_temp(o, base, 0);
        }
    }
    free(dir);
    return rc == UMPIRE_OK ? fd : rc;
}

int umpire_output_open(struct umpire_output *o, const char *path, char *err) {
    *o = (struct umpire_output){.dir = -1, .slot = -1};
    if (!path || !path[0])
        return umpire_fail(err, UMPIRE_EINVAL, "an empty file name");
    if (!(o->path = strdup(path)))
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    int fd, fd_link = 0;
    if (!strcmp(path, "-")) {
        fflush(stdout);
        if ((fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 0)) < 0)
            fd = umpire_fail(err, UMPIRE_EIO, "-: standard output is not open (%s)",
                             strerror(errno));
    } else if (!(o->dest = follow(path, &fd_link))) {
        fd = umpire_fail(err, UMPIRE_EIO, "%s: cannot follow its symlinks (%s)", path,
                         strerror(errno));
    } else if (fd_link) {
        if ((fd = open_fd_link(o->dest)) < 0)
            fd = umpire_fail(err, UMPIRE_EIO, "%s: cannot open for writing (%s)", path,
                             strerror(errno));
    } else {
        fd = open_dest(o, err);
    }
    if (fd >= 0 && !(o->f = fdopen(fd, "w"))) {
        close(fd);
        fd = umpire_fail(err, UMPIRE_ENOMEM, "%s: out of memory", path);
    }
    if (fd < 0) {
        if (o->slot >= 0) {
            const char *slash = strrchr(o->dest, '/');
            finish_temp(o, slash ? slash + 1 : o->dest, 0);
        }
        output_free(o);
        return fd;
    }
    return UMPIRE_OK;
}

int umpire_output_close(struct umpire_output *o, int rc, char *err) {
    int e = fflush(o->f) != 0 ? errno : 0;
    if (!e && ferror(o->f))
        e = EIO;
    if (!e && o->slot >= 0 && fsync(fileno(o->f)) != 0)
        e = errno;
    if (fclose(o->f) != 0 && !e)
        e = errno;
    if (o->slot >= 0) {
        const char *slash = strrchr(o->dest, '/'), *base = slash ? slash + 1 : o->dest;
        int put = rc == UMPIRE_OK && !e;
        int r = finish_temp(o, base, put);
        if (put && !r && fsync(o->dir) != 0 && errno != EINVAL)
            r = errno;
        if (put && !e)
            e = r;
    }
    if (rc == UMPIRE_OK && e)
        rc = umpire_fail(err, UMPIRE_EIO, "%s: write failed (%s)", o->path, strerror(e));
    output_free(o);
    return rc;
}

const char *umpire_output_file(const struct umpire_output *o) {
    return o->tmp ? o->tmp : o->dest ? o->dest : "/dev/stdout";
}

int umpire_same_file(const char *a, const char *b) {
    if (!strcmp(a, "-") || !strcmp(b, "-"))
        return 0;
    struct stat sa, sb;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    return !strcmp(a, b);
}

int umpire_output_check(const char *out, const char *input, char *err) {
    if (umpire_same_file(out, input))
        return umpire_fail(err, UMPIRE_EINVAL,
                           "%s: is the input %s; write the output to another file", out, input);
    return UMPIRE_OK;
}

/* ---------------------------------------------------------------- JSON */

int umpire_put_json(FILE *f, const cJSON *v, int compact, char *err) {
    char *text = compact ? cJSON_PrintUnformatted(v) : cJSON_Print(v);
    if (!text)
        return umpire_fail(err, UMPIRE_ENOMEM, "out of memory");
    fputs(text, f);
    fputc('\n', f);
    free(text);
    return UMPIRE_OK;
}

int umpire_write_json(const char *path, const cJSON *v, char *err) {
    struct umpire_output o;
    int rc = umpire_output_open(&o, path, err);
    return rc ? rc : umpire_output_close(&o, umpire_put_json(o.f, v, 0, err), err);
}

int umpire_output_copy(const char *from, const char *to, char *err) {
    int rc = umpire_output_check(to, from, err);
    if (rc != UMPIRE_OK)
        return rc;
    FILE *in = fopen(from, "rb");
    if (!in)
        return umpire_fail(err, UMPIRE_EIO, "%s: cannot open (%s)", from, strerror(errno));
    struct umpire_output o;
    if ((rc = umpire_output_open(&o, to, err)) == UMPIRE_OK) {
        char buf[1 << 16];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, in)) > 0 && fwrite(buf, 1, n, o.f) == n)
            ;
        if (ferror(in) || ferror(o.f))
            rc = umpire_fail(err, UMPIRE_EIO, "cannot copy %s to %s (%s)", from, to, strerror(errno));
        rc = umpire_output_close(&o, rc, err);
    }
    fclose(in);
    return rc;
}
