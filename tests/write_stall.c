/* write_stall.c - a test shim for write_safety.sh, loaded with LD_PRELOAD: it holds or fails
 * the fsync of umpire's temporary files (".umpire-XXXXXX", io/output.h), so that a test can
 * send a signal while a file is being written, or meet a failure no disk gives on demand.
 *   UMPIRE_STALL=N:MARK   at the N-th fsync of a temporary file, create the file MARK and wait
 *                         until the test removes it or sends a signal (at most a minute)
 *   UMPIRE_FAIL=N:ERRNO   the N-th fsync of a temporary file fails with errno ERRNO (5 EIO,
 *                         28 ENOSPC) */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int is_temp(int fd) {
    char link[64], name[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, name, sizeof name - 1);
    if (n <= 0)
        return 0;
    name[n] = '\0';
    const char *slash = strrchr(name, '/');
    return slash && !strncmp(slash + 1, ".umpire-", 8);
}

int fsync(int fd) {
    static int n_temps;
    int (*real)(int) = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    if (!is_temp(fd))
        return real(fd);
    n_temps++;
    const char *stall = getenv("UMPIRE_STALL"), *fail = getenv("UMPIRE_FAIL");
    char mark[4096];
    int at, code;
    if (stall && sscanf(stall, "%d:%4095s", &at, mark) == 2 && at == n_temps) {
        close(open(mark, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
        for (int i = 0; i < 1200 && access(mark, F_OK) == 0; i++)
            nanosleep(&(struct timespec){0, 50000000}, NULL);
    }
    if (fail && sscanf(fail, "%d:%d", &at, &code) == 2 && at == n_temps) {
        errno = code;
        return -1;
    }
    return real(fd);
}
