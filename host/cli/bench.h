/* What the `rlae bench` subcommands share (cmd_bench.c: dispatch, `mix` and the bandwidth
 * references; cmd_bench_model.c: `model` and the decode timing loop; cmd_bench_ensemble.c:
 * `ensemble`). Internal to the CLI. */
#ifndef RLAE_CLI_BENCH_H
#define RLAE_CLI_BENCH_H

#include "core/status.h"
#include "core/tensor.h"
#include "model/forward.h"
#include "model/kv_cache.h"
#include "model/weights.h"

#include <stddef.h>
#include <stdint.h>

double bench_now_s(void);
/* Waits for the device's queued work (no-op on the CPU). */
rlae_status bench_sync(rlae_device dev);
/* The bandwidth a memory-bound step is compared to, in GB/s, and one line saying how it was
 * measured: on the CPU the best of a read-sum, a copy and the ops' matmul at batch 1 over 256 MiB
 * (cmd_bench.c says why); on CUDA a device-to-device copy (bytes read + written per second). */
rlae_status bench_reference_gbs(rlae_device dev, double *gbs, char *how, size_t n);
/* Parses an integer option value in [lo, hi]; prints a usage error and returns 2 when it is not. */
int bench_parse_int(const char *flag, const char *val, int lo, int hi, int *out);
/* Peak resident memory of this process (bytes), from getrusage; and the current one (/proc/self/
 * statm, 0 where there is none). The difference from a reading taken before the model is made
 * leaves out the process image (a CUDA build maps a few hundred MB of cuBLAS/NCCL at start). */
double bench_max_rss_bytes(void);
double bench_rss_bytes(void);
/* Free device memory in bytes (cudaMemGetInfo); 0 on the CPU. */
size_t bench_device_free_bytes(rlae_device dev);

/* Options of `bench model` and `bench ensemble`. */
typedef struct {
    const char *arch, *model_path, *tokenizer;
    int batch, ctx, tokens, layers, vocab, members, json;
    rlae_device dev;
    rlae_dtype dtype;
    uint64_t seed;
} bench_opts;

/* argv[2..] -> *o (ensemble: also --members and --tokenizer); 0, or the exit code of a usage error. */
int bench_parse_opts(int argc, char **argv, int ensemble, bench_opts *o);
/* The model the options describe: random weights of o->arch (with --layers / --vocab applied) seeded
 * by `seed`, on o->dev in o->dtype; or o->model_path loaded from disk. */
rlae_status bench_make_weights(const bench_opts *o, uint64_t seed, rlae_model_weights *w);
/* One line describing the model's shape and what was overridden. */
void bench_describe_model(const bench_opts *o, const rlae_model_weights *w, char *buf, size_t n);

/* Timing of prefill + decode on one model (tokens drawn at random, not sampled from the logits,
 * so the forward alone is measured). */
typedef struct {
    double prefill_s;                       /* B sequences x C tokens, one forward call */
    int steps;                              /* timed decode steps (after one warm-up step) */
    double *step_s;                         /* [steps] seconds per step (owned) */
    double median_s, mean_s;
    double weight_bytes, kv_bytes;          /* per step, mean over the timed steps */
    int len_first, len_last;                /* cache length before the first / after the last timed step */
} bench_decode_result;

/* Resets the cache, then: a 1-token warm-up forward per sequence (undone), prefill of C random
 * tokens per sequence, one warm-up decode step, N timed decode steps, each synchronised. Writes
 * the logits (and hidden, if not NULL) into device buffers of [B, vocab] / [B, dim]. */
rlae_status bench_decode(rlae_model *m, rlae_kv_cache *cache, int B, int C, int N, uint64_t seed, float *logits,
                         float *hidden, bench_decode_result *r);
void bench_decode_result_free(bench_decode_result *r);

/* A float buffer of n entries on dev (ops allocation); free with rlae_ops_tensor_free. */
rlae_status bench_alloc_f32(rlae_tensor *t, rlae_device dev, int64_t rows, int64_t cols);

int bench_model(int argc, char **argv);
int bench_ensemble(int argc, char **argv);

#endif
