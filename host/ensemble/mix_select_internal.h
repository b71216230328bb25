/* Private to mix_select.c (validation, dispatch, workspace) and mix_select_cpu.c (the CPU reference):
 * the workspace layout and the CPU backend's entry point, which runs on inputs mix_select.c has
 * already validated. Not part of the ensemble API. */
#ifndef RLAE_ENSEMBLE_MIX_SELECT_INTERNAL_H
#define RLAE_ENSEMBLE_MIX_SELECT_INTERNAL_H

#include "ensemble/mix_select.h"
#include "model/sampler.h"

#include <stddef.h>

/* The CPU pass over a member's logits works in chunks of this many entries: one chunk max, then
 * exp(l - chunk max) kept in the per-thread buffer `e`, so the logits are read once and expf runs
 * once per entry; the scatter and member_prob read `e` scaled by exp(chunk max - max) / sum. */
#define RLAE_MIX_CHUNK 512

struct rlae_mix_workspace {
    rlae_device dev;
    int max_batch, n_members, union_size;
    int vocab_sizes[RLAE_MIX_MAX_MEMBERS];
    /* CPU: per-thread scratch, thread i at offset i * (its stride). */
    int n_threads;
    size_t e_stride;      /* sum_k V_k floats: exp(l - chunk max) of every member */
    size_t cm_stride;     /* sum_k chunks(V_k) floats: the chunk maxima */
    size_t e_off[RLAE_MIX_MAX_MEMBERS], cm_off[RLAE_MIX_MAX_MEMBERS];
    float *e, *cm;
    float *q;             /* [n_threads][U] the mixture */
    float *aux;           /* [n_threads][U] UniTE: P_k; sampling: log q */
    float *probs;         /* [n_threads][U] sampler scratch */
    rlae_prob_id *sorted; /* [n_threads][U] sampler / UniTE top-k scratch */
    unsigned char *mask;  /* [n_threads][U] UniTE eligibility */
    /* CUDA: device buffers (see rlae_cuda_mix_scratch in cuda/launch.h). */
    void *d_qx, *d_qf, *d_mask, *d_stats;
};

/* Runs the step on the CPU; every tensor, weight and map entry has been checked. */
rlae_status rlae_mix_select_cpu(const rlae_mix_inputs *in, const rlae_mix_params *p, rlae_mix_workspace *ws,
                                const rlae_mix_outputs *out);

#endif
