/* rlae_mmap_open: contents of a written file, an empty file, and the errors for a missing file and
 * a directory (status, path and system reason in the message). */
#include "core/mmap_file.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
    char dir[] = "/tmp/rlae_test_mmap_XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char path[256], empty[256], missing[256];
    snprintf(path, sizeof path, "%s/data.bin", dir);
    snprintf(empty, sizeof empty, "%s/empty.bin", dir);
    snprintf(missing, sizeof missing, "%s/no_such_file.bin", dir);

    unsigned char bytes[10000];
    for (size_t i = 0; i < sizeof bytes; i++)
        bytes[i] = (unsigned char)(i * 131u + 7u);
    FILE *f = fopen(path, "wb");
    fwrite(bytes, 1, sizeof bytes, f);
    fclose(f);
    f = fopen(empty, "wb");
    fclose(f);

    rlae_mmap_file m;
    CHECK(rlae_mmap_open(&m, path) == RLAE_OK);
    CHECK_EQ_INT(m.size, sizeof bytes);
    CHECK(m.data && memcmp(m.data, bytes, sizeof bytes) == 0);
    rlae_mmap_close(&m);
    CHECK(m.data == NULL && m.size == 0);
    rlae_mmap_close(&m); /* closing twice is harmless */

    CHECK(rlae_mmap_open(&m, empty) == RLAE_OK);
    CHECK_EQ_INT(m.size, 0);
    CHECK(m.data != NULL);
    rlae_mmap_close(&m);

    rlae_clear_error();
    CHECK(rlae_mmap_open(&m, missing) == RLAE_ERR_INPUT);
    CHECK(strstr(rlae_last_error(), missing) != NULL);
    CHECK(strstr(rlae_last_error(), "No such file or directory") != NULL);
    CHECK(m.data == NULL);

    CHECK(rlae_mmap_open(&m, dir) == RLAE_ERR_INPUT);
    CHECK(strstr(rlae_last_error(), "directory") != NULL);

    unlink(path);
    unlink(empty);
    rmdir(dir);
    return test_summary("test_mmap");
}
