/* Reading .safetensors files (single files and sharded checkpoints) with every byte bounds-checked.
 *
 * A .safetensors file is: an 8-byte little-endian header length N, N bytes of JSON mapping each
 * tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the data
 * section that starts at 8 + N), an optional "__metadata__" object of strings, then the data.
 * The file is mmapped read-only; open validates the whole header against the file (dtype known,
 * shape non-negative and not overflowing, offsets ordered, inside the data section, not overlapping,
 * and exactly shape x dtype-size bytes long), so later accessors never read outside the mapping.
 * Every error is RLAE_ERR_INPUT naming the file, the tensor and the problem.
 *
 * Checkpoints (rlae_st_checkpoint) put one or more files behind a single name lookup: a directory with
 * model.safetensors.index.json ("weight_map": name -> shard file), or a single model.safetensors.
 * The HF model loader (hf_model.c) is the main user; tensors are converted once to owned fp32. */
#ifndef RLAE_MODEL_SAFETENSORS_H
#define RLAE_MODEL_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"
#include "core/tensor.h"

/* Every dtype the safetensors format defines. Only F32, F16 and BF16 can be turned into weights;
 * the others are parsed and size-checked so that a file holding, say, an I64 position buffer still
 * opens, but converting them is an error. */
typedef enum {
    RLAE_ST_F32 = 0,
    RLAE_ST_F16,
    RLAE_ST_BF16,
    RLAE_ST_F64,
    RLAE_ST_I64,
    RLAE_ST_I32,
    RLAE_ST_I16,
    RLAE_ST_I8,
    RLAE_ST_U64,
    RLAE_ST_U32,
    RLAE_ST_U16,
    RLAE_ST_U8,
    RLAE_ST_BOOL,
    RLAE_ST_F8_E4M3,
    RLAE_ST_F8_E5M2,
} rlae_st_dtype;

/* The format allows any rank; real checkpoints use 0..4. Eight is generous and keeps the entry fixed-size. */
#define RLAE_ST_MAX_DIMS 8
/* Headers larger than this are refused before parsing (the reference implementation uses 100 MB too);
 * a real 70B index-free header is a few hundred KB. */
#define RLAE_ST_MAX_HEADER (100u * 1000u * 1000u)

typedef struct {
    const char *name;       /* tensor name, owned by the file handle */
    const char *file;       /* path of the file that holds it, for messages */
    rlae_st_dtype dtype;
    int ndim;
    int64_t shape[RLAE_ST_MAX_DIMS];
    int64_t numel;
    const void *data;       /* inside the read-only mapping; may be unaligned; NULL when nbytes == 0 */
    size_t nbytes;
} rlae_st_tensor;

typedef struct rlae_safetensors rlae_safetensors;

/* Maps and validates a file. On failure *out is NULL and the message names the file. */
rlae_status rlae_safetensors_open(const char *path, rlae_safetensors **out);
/* Same validation over a caller-owned buffer (fuzzing, tests); `label` stands in for the file name in
 * messages. The buffer must outlive the handle; it is not copied. */
rlae_status rlae_safetensors_open_memory(const void *data, size_t size, const char *label, rlae_safetensors **out);
/* Unmaps and frees; NULL is fine. Tensor pointers from this handle become invalid. */
void rlae_safetensors_close(rlae_safetensors *st);

const char *rlae_safetensors_path(const rlae_safetensors *st);
/* Number of tensors, and the i-th in name order (i < count), for iteration. */
size_t rlae_safetensors_count(const rlae_safetensors *st);
const rlae_st_tensor *rlae_safetensors_at(const rlae_safetensors *st, size_t i);
/* The tensor called `name`, or NULL (no error recorded; callers say what they expected). */
const rlae_st_tensor *rlae_safetensors_find(const rlae_safetensors *st, const char *name);
/* A string from "__metadata__", or NULL. */
const char *rlae_safetensors_metadata(const rlae_safetensors *st, const char *key);

const char *rlae_st_dtype_name(rlae_st_dtype d); /* "F32", "BF16", ... as written in the file */
size_t rlae_st_dtype_size(rlae_st_dtype d);

/* A non-owning rlae_tensor over the mapped bytes (F32, F16, BF16, I32, I64, U8 only; rank <= 4).
 * The memory is read-only and may be unaligned for its dtype: read it through memcpy or convert it
 * with rlae_st_to_f32. Unsupported dtypes or ranks are RLAE_ERR_UNSUPPORTED naming the tensor. */
rlae_status rlae_st_view(const rlae_st_tensor *t, rlae_tensor *out);
/* Converts an F32/F16/BF16 tensor (rank <= 4) into a new owned fp32 CPU tensor. Other dtypes are
 * RLAE_ERR_INPUT ("dtype I64 is not supported for weights"). */
rlae_status rlae_st_to_f32(const rlae_st_tensor *t, rlae_tensor *out);

/* ---- checkpoints: one file or a sharded set behind one lookup ---------------------------------- */
typedef struct rlae_st_checkpoint rlae_st_checkpoint;

/* Opens the safetensors weights of a Hugging Face model directory: model.safetensors.index.json if
 * present (every shard it names must exist and hold the tensors the index assigns to it), else
 * model.safetensors. A tensor name present in two files is an error. */
rlae_status rlae_st_checkpoint_open_dir(const char *dir, rlae_st_checkpoint **out);
/* Opens a sharded set from its index file; shard names are resolved next to the index. */
rlae_status rlae_st_checkpoint_open_index(const char *index_path, rlae_st_checkpoint **out);
/* Wraps a single file. */
rlae_status rlae_st_checkpoint_open_file(const char *path, rlae_st_checkpoint **out);
void rlae_st_checkpoint_close(rlae_st_checkpoint *ck);

/* Where the tensors came from, for messages: the index path or the single file. */
const char *rlae_st_checkpoint_source(const rlae_st_checkpoint *ck);
size_t rlae_st_checkpoint_count(const rlae_st_checkpoint *ck);
const rlae_st_tensor *rlae_st_checkpoint_at(const rlae_st_checkpoint *ck, size_t i); /* name order */
const rlae_st_tensor *rlae_st_checkpoint_find(const rlae_st_checkpoint *ck, const char *name);

#endif
