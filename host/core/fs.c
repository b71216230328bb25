/* Filesystem helpers (see fs.h). */
#include "core/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

rlae_status rlae_open_for_reading(const char *path, int *fd_out, struct stat *st)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return rlae_fail(RLAE_ERR_INPUT, "%s: cannot open: %s", path, strerror(errno));
    if (fstat(fd, st) != 0) {
        int e = errno;
        close(fd);
        return rlae_fail(RLAE_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (S_ISDIR(st->st_mode)) {
        close(fd);
        return rlae_fail(RLAE_ERR_INPUT, "%s: is a directory, expected a file", path);
    }
    *fd_out = fd;
    return RLAE_OK;
}

rlae_status rlae_read_file(const char *path, char **data, size_t *size)
{
    *data = NULL;
    if (size)
        *size = 0;
    int fd;
    struct stat st;
    RLAE_TRY(rlae_open_for_reading(path, &fd, &st));
    /* st_size is a hint only (pipes and /proc files report 0): read until EOF, growing. */
    size_t cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 4096, len = 0;
    char *buf = rlae_malloc(cap);
    if (!buf) {
        close(fd);
        return RLAE_ERR_NOMEM;
    }
    for (;;) {
        if (len + 1 >= cap) {
            char *nb = rlae_realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                close(fd);
                return RLAE_ERR_NOMEM;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - 1 - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            free(buf);
            close(fd);
            return rlae_fail(RLAE_ERR_IO, "%s: read failed: %s", path, strerror(e));
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    buf[len] = '\0';
    *data = buf;
    if (size)
        *size = len;
    return RLAE_OK;
}

static atomic_uint tmp_counter;

rlae_status rlae_atomic_open(rlae_atomic_file *af, const char *path)
{
    memset(af, 0, sizeof af[0]);
    size_t n = strlen(path) + 64;
    af->path = rlae_strdup(path);
    af->tmp_path = rlae_malloc(n);
    if (!af->path || !af->tmp_path) {
        free(af->path);
        free(af->tmp_path);
        memset(af, 0, sizeof af[0]);
        return RLAE_ERR_NOMEM;
    }
    /* Same directory as the target, so the final rename never crosses filesystems. O_EXCL with a
     * name unique to this process and call; the mode lets the umask decide as for any new file. */
    int fd = -1;
    for (int attempt = 0; attempt < 100 && fd < 0; attempt++) {
        snprintf(af->tmp_path, n, "%s.tmp.%ld.%u", path, (long)getpid(),
                 atomic_fetch_add(&tmp_counter, 1u));
        fd = open(af->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        int e = errno;
        free(af->path);
        free(af->tmp_path);
        memset(af, 0, sizeof af[0]);
        return rlae_fail(RLAE_ERR_IO, "%s: cannot create a temporary file beside it: %s", path, strerror(e));
    }
    af->f = fdopen(fd, "wb");
    if (!af->f) {
        int e = errno;
        close(fd);
        unlink(af->tmp_path);
        free(af->path);
        free(af->tmp_path);
        memset(af, 0, sizeof af[0]);
        return rlae_fail(RLAE_ERR_IO, "%s: fdopen: %s", path, strerror(e));
    }
    return RLAE_OK;
}

void rlae_atomic_abort(rlae_atomic_file *af)
{
    if (af->f)
        fclose(af->f);
    if (af->tmp_path)
        unlink(af->tmp_path);
    free(af->path);
    free(af->tmp_path);
    memset(af, 0, sizeof af[0]);
}

/* After a rename, the directory entry itself must reach the disk for the new name to survive a
 * power loss. Failure here is not fatal for correctness of content, so errors are ignored. */
static void fsync_parent_dir(const char *path)
{
    char *dir = rlae_path_dirname(path);
    if (!dir)
        return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

rlae_status rlae_atomic_commit(rlae_atomic_file *af)
{
    if (!af->f)
        return rlae_fail(RLAE_ERR_RUNTIME, "atomic write committed without an open file");
    int err = 0;
    const char *what = "";
    if (ferror(af->f)) {
        err = EIO;
        what = "write";
    } else if (fflush(af->f) != 0) {
        err = errno;
        what = "write";
    } else if (fsync(fileno(af->f)) != 0) {
        err = errno;
        what = "fsync";
    }
    int close_rc = fclose(af->f);
    af->f = NULL;
    if (!err && close_rc != 0) {
        err = errno;
        what = "close";
    }
    if (!err && rename(af->tmp_path, af->path) != 0) {
        err = errno;
        what = "rename";
    }
    if (err) {
        rlae_status s = rlae_fail(RLAE_ERR_IO, "%s: %s failed: %s (the previous file, if any, is unchanged)",
                                  af->path, what, strerror(err));
        rlae_atomic_abort(af);
        return s;
    }
    fsync_parent_dir(af->path);
    free(af->path);
    free(af->tmp_path);
    memset(af, 0, sizeof af[0]);
    return RLAE_OK;
}

rlae_status rlae_write_file_atomic(const char *path, const void *data, size_t size)
{
    rlae_atomic_file af;
    RLAE_TRY(rlae_atomic_open(&af, path));
    if (size && fwrite(data, 1, size, af.f) != size) {
        int e = errno;
        rlae_atomic_abort(&af);
        return rlae_fail(RLAE_ERR_IO, "%s: write failed: %s", path, strerror(e));
    }
    return rlae_atomic_commit(&af);
}

static rlae_status mkdir_one(const char *path)
{
    if (mkdir(path, 0777) == 0)
        return RLAE_OK;
    int e = errno;
    struct stat st;
    if (e == EEXIST && stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return RLAE_OK;
        return rlae_fail(RLAE_ERR_INPUT, "%s: exists and is not a directory", path);
    }
    return rlae_fail(RLAE_ERR_IO, "%s: cannot create directory: %s", path, strerror(e));
}

rlae_status rlae_mkdir_p(const char *path)
{
    if (!path || !*path)
        return rlae_fail(RLAE_ERR_INPUT, "empty directory path");
    char *p = rlae_strdup(path);
    if (!p)
        return RLAE_ERR_NOMEM;
    rlae_status s = RLAE_OK;
    /* Create each prefix ending before a '/', then the whole path. */
    for (char *q = p + 1; *q && s == RLAE_OK; q++) {
        if (*q != '/' || q[-1] == '/')
            continue;
        *q = '\0';
        s = mkdir_one(p);
        *q = '/';
    }
    if (s == RLAE_OK)
        s = mkdir_one(p);
    free(p);
    return s;
}

char *rlae_path_join(const char *a, const char *b)
{
    if (!a || !*a || b[0] == '/')
        return rlae_strdup(b);
    size_t la = strlen(a), lb = strlen(b);
    int slash = a[la - 1] != '/';
    char *out = rlae_malloc(la + (size_t)slash + lb + 1);
    if (!out)
        return NULL;
    memcpy(out, a, la);
    if (slash)
        out[la] = '/';
    memcpy(out + la + slash, b, lb + 1);
    return out;
}

char *rlae_path_dirname(const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') /* trailing slashes do not name a component */
        n--;
    while (n > 0 && path[n - 1] != '/') /* drop the last component */
        n--;
    if (n == 0)
        return rlae_strdup(".");
    while (n > 1 && path[n - 1] == '/') /* and the slashes before it */
        n--;
    char *out = rlae_malloc(n + 1);
    if (!out)
        return NULL;
    memcpy(out, path, n);
    out[n] = '\0';
    return out;
}

int rlae_path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int rlae_path_is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int rlae_path_is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}
