/* Read-only whole-file mmap (see mmap_file.h). */
#include "core/mmap_file.h"
#include "core/fs.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* mmap rejects length 0, yet an empty file is a valid (if useless) input: give it a pointer to a
 * static byte so callers can treat data as always valid. */
static const unsigned char empty_file_byte = 0;

rlae_status rlae_mmap_open(rlae_mmap_file *m, const char *path)
{
    memset(m, 0, sizeof *m);
    int fd;
    struct stat st;
    RLAE_TRY(rlae_open_for_reading(path, &fd, &st));
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return rlae_fail(RLAE_ERR_INPUT, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        m->data = &empty_file_byte;
        return RLAE_OK;
    }
    void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd); /* the mapping keeps the file referenced */
    if (p == MAP_FAILED)
        return rlae_fail(RLAE_ERR_IO, "%s: cannot mmap %lld bytes: %s", path, (long long)st.st_size,
                         strerror(e));
    m->data = p;
    m->size = (size_t)st.st_size;
    m->mapped = 1;
    return RLAE_OK;
}

void rlae_mmap_close(rlae_mmap_file *m)
{
    if (m->mapped)
        munmap((void *)m->data, m->size);
    memset(m, 0, sizeof *m);
}
