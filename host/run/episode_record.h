/* One finished training episode as a flat byte record: the rollout's episode (tokens, probabilities,
 * spans, text), the trainer's reward and correctness, the prompt, and the agent's span steps
 * (observation, action, log-probability, value, bootstrap). The trainer writes every episode it
 * rolls out as a record and reads all of them back in episode order, whether they came from this
 * process or, with dist.placement data_parallel, from the other ranks through one allgather
 * (docs/distributed.md). Records are 8-byte aligned and hold native-endian numbers: every rank of
 * a run runs the same binary on the same kind of machine. */
#ifndef RLAE_RUN_EPISODE_RECORD_H
#define RLAE_RUN_EPISODE_RECORD_H

#include "core/status.h"
#include "ensemble/rollout.h"

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *data;
    size_t len, cap;
} rlae_record_buf;

void rlae_record_buf_free(rlae_record_buf *b);
/* Makes room for `more` bytes past len. */
rlae_status rlae_record_buf_reserve(rlae_record_buf *b, size_t more);

/* The agent's span steps of one episode: steps x {obs[D], action[K], logp[L], value}. */
typedef struct {
    int steps, D, K, L;
    const float *obs, *action, *logp, *value;
    float bootstrap; /* V(s_T) for a truncated episode */
} rlae_record_steps;

/* A record as read back: `ep` and `prompt` are the caller's to free (rlae_episode_free, free);
 * the step arrays point into the buffer that was read. */
typedef struct {
    uint32_t index; /* position of the episode in its iteration */
    rlae_episode ep;
    double reward;
    int correct;
    char *prompt;
    rlae_record_steps st;
} rlae_record;

rlae_status rlae_record_append(rlae_record_buf *b, uint32_t index, const rlae_episode *ep, double reward, int correct,
                               const char *prompt, const rlae_record_steps *st);

/* Reads the record at *at (advanced past it) of data[len]; D, K, L must match what was written
 * (a mismatch or a cut record is RLAE_ERR_RUNTIME). */
rlae_status rlae_record_read(const char *data, size_t len, size_t *at, int D, int K, int L, rlae_record *out);

#endif
