/* SHA-256 (FIPS 180-2): the hashes the run file stores for member weights and tokenizers, so a run
 * names exactly which files it used. Streaming (init/update/final) plus whole-file helpers that
 * read in blocks, and a directory form for HF checkpoints spread over several files. */
#ifndef RLAE_CORE_SHA256_H
#define RLAE_CORE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct {
    uint32_t h[8];
    uint64_t n_bytes;
    uint8_t buf[64];
    size_t n_buf;
} rlae_sha256;

void rlae_sha256_init(rlae_sha256 *s);
void rlae_sha256_update(rlae_sha256 *s, const void *data, size_t n);
void rlae_sha256_final(rlae_sha256 *s, uint8_t digest[32]);
/* digest as 64 lowercase hex characters plus NUL */
void rlae_sha256_hex(const uint8_t digest[32], char hex[65]);
/* One call: hex digest of a buffer. */
void rlae_sha256_buffer_hex(const void *data, size_t n, char hex[65]);

/* Hex digest of a regular file's bytes (streamed reads). Missing/unreadable: RLAE_ERR_INPUT naming
 * the path. A directory is hashed as the SHA-256 of "name\0<hex digest of the file>\n" over its
 * regular files whose names end in one of `suffixes` (NULL: every regular file), sorted by name. */
rlae_status rlae_sha256_file_hex(const char *path, char hex[65]);
rlae_status rlae_sha256_path_hex(const char *path, const char *const *suffixes, int n_suffixes, char hex[65]);

#endif
