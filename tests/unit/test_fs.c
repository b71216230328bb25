/* fs helpers: atomic write (content, replacement of an existing file, no temporary left behind,
 * abort leaves the old file), whole-file read, mkdir -p, path join and dirname. */
#include "core/fs.h"
#include "test.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    if (d)
        closedir(d);
    return n;
}

static void check_file(const char *path, const char *want)
{
    char *data = NULL;
    size_t size = 0;
    CHECK(rlae_read_file(path, &data, &size) == RLAE_OK);
    CHECK_EQ_INT(size, strlen(want));
    CHECK(data && strcmp(data, want) == 0);
    free(data);
}

static void test_paths(void)
{
    static const char *join[][3] = {
        {"a", "b", "a/b"}, {"a/", "b", "a/b"}, {"", "b", "b"}, {"a", "/abs", "/abs"}, {"/x/y", "z.json", "/x/y/z.json"},
    };
    for (size_t i = 0; i < sizeof join / sizeof join[0]; i++) {
        char *j = rlae_path_join(join[i][0], join[i][1]);
        CHECK_EQ_STR(j, join[i][2]);
        free(j);
    }
    static const char *dn[][2] = {
        {"a/b", "a"}, {"a", "."}, {"/a", "/"}, {"a/b/", "a"}, {"/", "/"}, {"//a", "/"}, {"x/y/z.bin", "x/y"}, {"a//b", "a"},
    };
    for (size_t i = 0; i < sizeof dn / sizeof dn[0]; i++) {
        char *d = rlae_path_dirname(dn[i][0]);
        CHECK_EQ_STR(d, dn[i][1]);
        free(d);
    }
}

int main(void)
{
    test_paths();

    char dir[] = "/tmp/rlae_test_fs_XXXXXX";
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    char *path = rlae_path_join(dir, "ckpt.bin");

    /* New file. */
    CHECK(rlae_write_file_atomic(path, "first version", 13) == RLAE_OK);
    check_file(path, "first version");
    CHECK_EQ_INT(count_entries(dir), 1);

    /* Replacing it. */
    CHECK(rlae_write_file_atomic(path, "second", 6) == RLAE_OK);
    check_file(path, "second");
    CHECK_EQ_INT(count_entries(dir), 1);

    /* Streaming: the target is untouched until commit; abort keeps the old file. */
    rlae_atomic_file af;
    CHECK(rlae_atomic_open(&af, path) == RLAE_OK);
    fputs("partial third", af.f);
    fflush(af.f);
    check_file(path, "second");
    CHECK_EQ_INT(count_entries(dir), 2); /* the temporary sits beside the target */
    rlae_atomic_abort(&af);
    check_file(path, "second");
    CHECK_EQ_INT(count_entries(dir), 1);

    CHECK(rlae_atomic_open(&af, path) == RLAE_OK);
    fputs("third ", af.f);
    fputs("in pieces", af.f);
    CHECK(rlae_atomic_commit(&af) == RLAE_OK);
    check_file(path, "third in pieces");
    CHECK_EQ_INT(count_entries(dir), 1);
    CHECK(af.f == NULL && af.tmp_path == NULL);

    /* Empty content. */
    CHECK(rlae_write_file_atomic(path, NULL, 0) == RLAE_OK);
    check_file(path, "");

    /* A directory that does not exist: clear error naming the path, nothing created. */
    char *bad = rlae_path_join(dir, "missing_dir/x.bin");
    CHECK(rlae_write_file_atomic(bad, "x", 1) == RLAE_ERR_IO);
    CHECK(strstr(rlae_last_error(), bad) != NULL);

    /* read_file errors. */
    char *data = (char *)1;
    CHECK(rlae_read_file(bad, &data, NULL) == RLAE_ERR_INPUT);
    CHECK(data == NULL);
    CHECK(strstr(rlae_last_error(), "No such file") != NULL);
    CHECK(rlae_read_file(dir, &data, NULL) == RLAE_ERR_INPUT);

    /* mkdir -p: nested, idempotent, and a file in the way. */
    char *deep = rlae_path_join(dir, "runs//a/b/c/");
    CHECK(rlae_mkdir_p(deep) == RLAE_OK);
    CHECK(rlae_path_is_dir(deep));
    CHECK(rlae_mkdir_p(deep) == RLAE_OK);
    char *through_file = rlae_path_join(dir, "ckpt.bin/sub");
    CHECK(rlae_mkdir_p(through_file) == RLAE_ERR_INPUT);
    CHECK(strstr(rlae_last_error(), "not a directory") != NULL);
    CHECK(rlae_path_exists(path));
    CHECK(!rlae_path_exists(bad));

    /* Clean up. */
    unlink(path);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0);
    free(path);
    free(bad);
    free(deep);
    free(through_file);
    return test_summary("test_fs");
}
