/* SHA-256 against the FIPS 180-2 appendix vectors (one block, two blocks, one million 'a'), split
 * updates at every offset, and the file / directory helpers. */
#include "core/sha256.h"
#include "test.h"

#include <unistd.h>

int main(void)
{
    char hex[65];
    rlae_sha256_buffer_hex("abc", 3, hex);
    CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0);
    rlae_sha256_buffer_hex("", 0, hex);
    CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0);
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    rlae_sha256_buffer_hex(two, strlen(two), hex);
    CHECK(strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0);
    /* split updates give the same digest wherever the split falls */
    for (size_t cut = 0; cut <= strlen(two); cut++) {
        rlae_sha256 s;
        uint8_t dg[32];
        char h2[65];
        rlae_sha256_init(&s);
        rlae_sha256_update(&s, two, cut);
        rlae_sha256_update(&s, two + cut, strlen(two) - cut);
        rlae_sha256_final(&s, dg);
        rlae_sha256_hex(dg, h2);
        CHECK_MSG(strcmp(h2, hex) == 0, "cut at %zu", cut);
    }
    char *million = malloc(1000000);
    memset(million, 'a', 1000000);
    rlae_sha256 s;
    uint8_t dg[32];
    rlae_sha256_init(&s);
    for (int i = 0; i < 1000; i++)
        rlae_sha256_update(&s, million + i * 1000, 1000);
    rlae_sha256_final(&s, dg);
    rlae_sha256_hex(dg, hex);
    CHECK(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0);

    /* files and directories */
    char dir[] = "/tmp/rlae-sha256-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/m.safetensors", dir);
    FILE *f = fopen(path, "wb");
    fwrite(million, 1, 1000000, f);
    fclose(f);
    CHECK(rlae_sha256_file_hex(path, hex) == RLAE_OK);
    CHECK(strcmp(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0") == 0);
    const char *suf[] = {".safetensors"};
    char dh[65];
    CHECK(rlae_sha256_path_hex(dir, suf, 1, dh) == RLAE_OK);
    CHECK(strlen(dh) == 64 && strcmp(dh, hex) != 0);
    char nope[300];
    snprintf(nope, sizeof nope, "%s/missing", dir);
    CHECK(rlae_sha256_file_hex(nope, hex) == RLAE_ERR_INPUT);
    CHECK(strstr(rlae_last_error(), "missing") != NULL);
    unlink(path);
    rmdir(dir);
    free(million);
    return test_summary("test_sha256");
}
