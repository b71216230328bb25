/* Small filesystem helpers: whole-file reads (configs, JSON, datasets), atomic writes (checkpoints,
 * resolved configs: a crash leaves either the old file or the new one, never a torn mix), mkdir -p
 * for run directories, and path joining. Errors name the path and the system's reason. */
#ifndef RLAE_CORE_FS_H
#define RLAE_CORE_FS_H

#include <stddef.h>
#include <stdio.h>

#include <sys/stat.h>

#include "core/status.h"

/* Opens `path` read-only and fstat()s it; a directory is RLAE_ERR_INPUT. The shared first step of
 * rlae_read_file and rlae_mmap_open. On success the caller owns *fd. */
rlae_status rlae_open_for_reading(const char *path, int *fd, struct stat *st);

/* Reads a whole file into a malloc'd buffer with a NUL byte after the last (so text can be used
 * as a C string); *size excludes that byte. Missing, unreadable or directory: RLAE_ERR_INPUT. */
rlae_status rlae_read_file(const char *path, char **data, size_t *size);

/* Writes `size` bytes to `path` atomically: a temporary file in the same directory, fsync, rename
 * over `path`, fsync of the directory. */
rlae_status rlae_write_file_atomic(const char *path, const void *data, size_t size);

/* The streaming form, for files written piecewise (checkpoints):
 *   rlae_atomic_file af; RLAE_TRY(rlae_atomic_open(&af, path));
 *   fwrite(..., af.f); ...
 *   RLAE_TRY(rlae_atomic_commit(&af));   // or rlae_atomic_abort(&af) on an error of the caller's
 * Until commit, `path` is untouched; commit and abort both release everything. */
typedef struct {
    FILE *f;
    char *path;
    char *tmp_path;
} rlae_atomic_file;

rlae_status rlae_atomic_open(rlae_atomic_file *af, const char *path);
rlae_status rlae_atomic_commit(rlae_atomic_file *af);
void rlae_atomic_abort(rlae_atomic_file *af);

/* Creates `path` and its missing parents (mode 0777 & ~umask). An existing directory is fine;
 * an existing non-directory on the way is RLAE_ERR_INPUT. */
rlae_status rlae_mkdir_p(const char *path);

/* "a" + "b" -> "a/b"; an absolute `b` or an empty `a` gives `b`. malloc'd; NULL (with
 * RLAE_ERR_NOMEM recorded) when out of memory. */
char *rlae_path_join(const char *a, const char *b);
/* POSIX dirname semantics without modifying the input: "a/b" -> "a", "a" -> ".", "/a" -> "/",
 * "a/b/" -> "a". malloc'd. */
char *rlae_path_dirname(const char *path);

int rlae_path_exists(const char *path);
int rlae_path_is_dir(const char *path);
/* A regular file (after following links). */
int rlae_path_is_file(const char *path);

#endif
