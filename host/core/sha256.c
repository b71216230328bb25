/* SHA-256 after FIPS 180-2 section 6.2, written for clarity over speed: hashing a multi-GB
 * checkpoint once per run start is dominated by disk reads, not by this loop. */
#include "core/sha256.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void compress(uint32_t h[8], const uint8_t b[64])
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 | (uint32_t)b[4 * i + 2] << 8 |
               b[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROTR(w[i - 15], 7) ^ ROTR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROTR(w[i - 2], 17) ^ ROTR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25)) + ((e & f) ^ (~e & g)) + K256[i] + w[i];
        uint32_t t2 = (ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22)) + ((a & bb) ^ (a & c) ^ (bb & c));
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = bb;
        bb = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += bb;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

void rlae_sha256_init(rlae_sha256 *s)
{
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, h0, sizeof h0);
    s->n_bytes = 0;
    s->n_buf = 0;
}

void rlae_sha256_update(rlae_sha256 *s, const void *data, size_t n)
{
    const uint8_t *p = data;
    s->n_bytes += n;
    if (s->n_buf > 0) {
        size_t take = 64 - s->n_buf < n ? 64 - s->n_buf : n;
        memcpy(s->buf + s->n_buf, p, take);
        s->n_buf += take;
        p += take;
        n -= take;
        if (s->n_buf < 64)
            return;
        compress(s->h, s->buf);
        s->n_buf = 0;
    }
    for (; n >= 64; p += 64, n -= 64)
        compress(s->h, p);
    memcpy(s->buf, p, n);
    s->n_buf = n;
}

void rlae_sha256_final(rlae_sha256 *s, uint8_t digest[32])
{
    uint64_t bits = s->n_bytes * 8;
    uint8_t pad[72] = {0x80};
    size_t padlen = (s->n_buf < 56 ? 56 : 120) - s->n_buf;
    for (int i = 0; i < 8; i++)
        pad[padlen + i] = (uint8_t)(bits >> (56 - 8 * i));
    uint64_t keep = s->n_bytes;
    rlae_sha256_update(s, pad, padlen + 8);
    s->n_bytes = keep;
    for (int i = 0; i < 8; i++) {
        digest[4 * i] = (uint8_t)(s->h[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(s->h[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(s->h[i] >> 8);
        digest[4 * i + 3] = (uint8_t)s->h[i];
    }
}

void rlae_sha256_hex(const uint8_t digest[32], char hex[65])
{
    static const char d[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        hex[2 * i] = d[digest[i] >> 4];
        hex[2 * i + 1] = d[digest[i] & 15];
    }
    hex[64] = '\0';
}

void rlae_sha256_buffer_hex(const void *data, size_t n, char hex[65])
{
    rlae_sha256 s;
    uint8_t dg[32];
    rlae_sha256_init(&s);
    rlae_sha256_update(&s, data, n);
    rlae_sha256_final(&s, dg);
    rlae_sha256_hex(dg, hex);
}

rlae_status rlae_sha256_file_hex(const char *path, char hex[65])
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return rlae_fail(RLAE_ERR_INPUT, "%s: cannot open for hashing: %s; check the path", path,
                         strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(f);
        return rlae_fail(RLAE_ERR_INPUT, "%s: is a directory, expected a file to hash", path);
    }
    enum { BLOCK = 1 << 20 };
    uint8_t *buf = rlae_malloc(BLOCK);
    if (!buf) {
        fclose(f);
        return RLAE_ERR_NOMEM;
    }
    rlae_sha256 s;
    uint8_t dg[32];
    rlae_sha256_init(&s);
    size_t got;
    while ((got = fread(buf, 1, BLOCK, f)) > 0)
        rlae_sha256_update(&s, buf, got);
    int bad = ferror(f);
    free(buf);
    fclose(f);
    if (bad)
        return rlae_fail(RLAE_ERR_IO, "%s: read error while hashing", path);
    rlae_sha256_final(&s, dg);
    rlae_sha256_hex(dg, hex);
    return RLAE_OK;
}

static int has_suffix(const char *name, const char *const *suffixes, int n)
{
    if (!suffixes)
        return 1;
    size_t ln = strlen(name);
    for (int i = 0; i < n; i++) {
        size_t ls = strlen(suffixes[i]);
        if (ln >= ls && strcmp(name + ln - ls, suffixes[i]) == 0)
            return 1;
    }
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

rlae_status rlae_sha256_path_hex(const char *path, const char *const *suffixes, int n_suffixes, char hex[65])
{
    struct stat st;
    if (stat(path, &st) != 0)
        return rlae_fail(RLAE_ERR_INPUT, "%s: cannot hash: %s; check the path", path, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return rlae_sha256_file_hex(path, hex);
    DIR *d = opendir(path);
    if (!d)
        return rlae_fail(RLAE_ERR_INPUT, "%s: cannot list directory: %s", path, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    rlae_status s = RLAE_OK;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' || !has_suffix(de->d_name, suffixes, n_suffixes))
            continue;
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", path, de->d_name);
        struct stat fs;
        if (stat(full, &fs) != 0 || !S_ISREG(fs.st_mode))
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **nn = rlae_realloc(names, cap * sizeof *names);
            if (!nn) {
                s = RLAE_ERR_NOMEM;
                break;
            }
            names = nn;
        }
        if (!(names[n] = rlae_strdup(de->d_name))) {
            s = RLAE_ERR_NOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (s == RLAE_OK) {
        qsort(names, n, sizeof *names, cmp_names);
        rlae_sha256 acc;
        uint8_t dg[32];
        rlae_sha256_init(&acc);
        for (size_t i = 0; i < n && s == RLAE_OK; i++) {
            char full[4096], fh[65];
            snprintf(full, sizeof full, "%s/%s", path, names[i]);
            s = rlae_sha256_file_hex(full, fh);
            if (s != RLAE_OK)
                break;
            rlae_sha256_update(&acc, names[i], strlen(names[i]) + 1);
            rlae_sha256_update(&acc, fh, 64);
            rlae_sha256_update(&acc, "\n", 1);
        }
        rlae_sha256_final(&acc, dg);
        rlae_sha256_hex(dg, hex);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return s;
}
