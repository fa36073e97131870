/* path.h - checks on the files and file names a user hands umpire (path.c). */
#ifndef UMPIRE_IO_PATH_H
#define UMPIRE_IO_PATH_H

/* Whether path is a regular file this process can read: 0, or UMPIRE_EIO with
 * "PATH: cannot open WHAT file (reason)" / "PATH: is a directory, not a WHAT file" /
 * "PATH: not a regular file (a FIFO, socket or device), not a WHAT file" in err. A FIFO or a
 * device would block a reader, or feed it without end. */
int umpire_regular_file(const char *path, const char *what, char *err);

/* Whether name can be used as a file name as it is, inside a folder umpire writes: 1 to 128
 * bytes of letters, digits, '.', '_' and '-', not starting with '.' (no "..", no hidden file,
 * no path separator, nothing a shell or another system reads differently). */
int umpire_safe_file_name(const char *name);

#endif
