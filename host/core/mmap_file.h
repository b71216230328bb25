/* Read-only memory maps of whole files: how weights (safetensors, llama2.c checkpoints) and large
 * tokenizer files are read without copying them. The map is private and read-only; pages come from
 * the page cache on demand, so opening a 15 GB checkpoint costs nothing until tensors are touched. */
#ifndef RLAE_CORE_MMAP_FILE_H
#define RLAE_CORE_MMAP_FILE_H

#include <stddef.h>

#include "core/status.h"

typedef struct {
    const void *data; /* never NULL after a successful open, even for an empty file */
    size_t size;      /* bytes */
    int mapped;       /* 1 when data is a real mapping (0 for an empty file) */
} rlae_mmap_file;

/* Maps `path`. A missing or unreadable file, or a directory, is RLAE_ERR_INPUT naming the path and
 * the system's reason; a failing mmap is RLAE_ERR_IO. On failure `m` is zeroed. */
rlae_status rlae_mmap_open(rlae_mmap_file *m, const char *path);
/* Unmaps; safe on a zeroed or already-closed map. */
void rlae_mmap_close(rlae_mmap_file *m);

#endif
