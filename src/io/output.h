/* output.h - the one way umpire writes a file: scored items, summaries, reports, calibration
 * files, datasets, run directories, models. (A run's items.jsonl, an append-only log, and its
 * lock file keep their own protocol: eval_run.c.)
 *
 * A regular file, or a name that does not exist yet, is written to a new hidden file beside it,
 * ".umpire-XXXXXX", created exclusively (O_EXCL: a file or a symlink already there is never
 * followed or overwritten, and two writers never share one), then flushed, fsync'ed, renamed
 * over the target and the directory fsync'ed: a reader sees the old file or the new one, never
 * half of one. The new file keeps the old one's permission bits (rwx; not set-id) and, where the
 * process may set them, its owner and group; a new name gets 0666 & ~umask, as fopen gives. A
 * symlink is followed to its destination, which is replaced: the link stays a link. An existing
 * file the process may not write is refused, as fopen would refuse it.
 *
 * Anything that is not a regular file is written through, never replaced and never removed: a
 * character or block device, a FIFO, a socket, "-" (standard output), and a descriptor's name
 * (/dev/stdout, /dev/fd/N, /proc/self/fd/N: written to that descriptor, as a shell redirection
 * left it, appending or not).
 *
 * A failure (a write, the flush, fsync, the rename: ENOSPC, EFBIG, EIO, ...) removes the
 * temporary file and leaves the target as it was. So does a signal: with its first temporary
 * file umpire catches SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGPIPE, SIGALRM, SIGUSR1, SIGUSR2,
 * SIGXCPU and SIGXFSZ, those whose action is the default (an ignored one stays ignored: SIGXFSZ
 * ignored turns a write past `ulimit -f` into EFBIG); the handler removes every temporary file
 * in flight and the process then dies of the signal, as it would have. An application that
 * handles one of these signals itself can call umpire_output_cleanup() from its handler.
 * SIGKILL cannot be caught: it leaves the hidden .umpire-XXXXXX (the target intact beside it);
 * no reader of umpire's opens such a name, and it can be deleted. */
#ifndef UMPIRE_IO_OUTPUT_H
#define UMPIRE_IO_OUTPUT_H

#include <cjson/cJSON.h>
#include <stdio.h>

struct umpire_output {
    FILE *f; /* write the contents here */
    /* private */
    char *path; /* the name given, for messages */
    char *dest; /* the file replaced or written: path with its symlinks followed */
    char *tmp;  /* the temporary file's path; NULL when written through */
    int dir;    /* the descriptor of dest's directory while a temporary file exists, else -1 */
    int slot;   /* the temporary file's entry in the table the signal handler cleans, else -1 */
};

/* Open PATH for writing as above. Returns 0, or a negative status with err naming the file;
 * nothing is created then. */
int umpire_output_open(struct umpire_output *o, const char *path, char *err);
/* Finish: rc is the status of the writes (0: they succeeded). On success the file is flushed,
 * synced and put in place; otherwise, or when that fails, the temporary file is removed and the
 * target left as it was. Returns rc when it is an error, else 0 or a negative status with err
 * ("PATH: write failed (No space left on device)"). Frees o in every case. */
int umpire_output_close(struct umpire_output *o, int rc, char *err);
/* The file name for a library that writes by name (gguf_write_to_file): the temporary file, or
 * the target when it is written through. Write it whole, then umpire_output_close as usual. */
const char *umpire_output_file(const struct umpire_output *o);
/* Remove every temporary file in flight. Async-signal-safe: for an application's own handler. */
void umpire_output_cleanup(void);

/* 1 when A and B are one file: the same device and inode once symlinks are followed, or the
 * same name; "-" is no file. */
int umpire_same_file(const char *a, const char *b);
/* Refuse to write OUT over INPUT: 0 when they are different files, else UMPIRE_EINVAL with err
 * "OUT: is the input INPUT; write the output to another file". */
int umpire_output_check(const char *out, const char *input, char *err);
/* Copy the file FROM to TO through the safe writer (refused when they are the same file).
 * Returns 0, or a negative status with err naming the file. */
int umpire_output_copy(const char *from, const char *to, char *err);

/* One JSON value as a line (compact) or a document (indented), then a newline; a failed write
 * shows in umpire_output_close. Returns 0, or UMPIRE_ENOMEM with err filled. */
int umpire_put_json(FILE *f, const cJSON *v, int compact, char *err);
/* Write v as an indented JSON document to path (umpire_output_open). Returns 0, or a negative
 * status with err. */
int umpire_write_json(const char *path, const cJSON *v, char *err);

#endif
