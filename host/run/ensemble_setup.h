/* A config's ensemble, ready to run: its members loaded for batches of a given size, their union
 * vocabulary, and a rollout with the config's decoding settings (ensemble.*, run.seed). Shared by
 * `rlae generate CONFIG`, `rlae eval` and the trainer, so a config means the same ensemble
 * everywhere. The weight policy is not part of it: callers pass one per rollout run. */
#ifndef RLAE_RUN_ENSEMBLE_SETUP_H
#define RLAE_RUN_ENSEMBLE_SETUP_H

#include "config/config.h"
#include "core/status.h"
#include "ensemble/member.h"
#include "ensemble/rollout.h"
#include "ensemble/vocab_union.h"

typedef struct {
    int n_members;
    int max_batch;
    rlae_member members[RLAE_MAX_MEMBERS];
    rlae_vocab_union *vu;
    rlae_rollout *ro;
    rlae_device device;   /* where the members (and the encoder) run: run.device resolved */
    int has_encoder;      /* config section `encoder` set (encoder.path not empty) */
    rlae_member encoder;  /* read by the rollout, pooled into the agent's features; no vote */
} rlae_ensemble;

/* Width of the encoder's pooled feature: its hidden size, 0 without an encoder. */
int rlae_ensemble_encoder_dim(const rlae_ensemble *e);

/* The rollout options cfg describes (greedy means temperature 0); the stop list points into cfg. */
rlae_rollout_options rlae_rollout_options_from_config(const rlae_config *cfg);

/* The device cfg's ensemble runs on: run.device resolved (core/device.h; auto is the GPU when one is
 * visible). task.mc_scoring loglik / loglik_norm scores options with host buffers (run/evaluate.c),
 * so with it auto stays on the CPU (saying so) and cuda is RLAE_ERR_INPUT naming both settings. */
rlae_status rlae_ensemble_device(const rlae_config *cfg, rlae_device *out);

/* Loads cfg's members for batches of up to max_batch sequences (each at its model's full context)
 * on rlae_ensemble_device (on cuda each member's weights go there once, in members[].dtype: auto is
 * bf16, fp32 allowed; the KV caches and the rollout's per-step buffers live there too),
 * builds the union and the rollout (which copies what it keeps of cfg), and the encoder member when
 * encoder.path is set (rlae_rollout_set_encoder; a bad encoder is an error naming encoder.path).
 * No members: RLAE_ERR_INPUT saying to list some; a member that fails to load is named. On failure
 * *e holds nothing to free. */
rlae_status rlae_ensemble_open(rlae_ensemble *e, const rlae_config *cfg, int max_batch);
/* rlae_ensemble_open for one rank of `comm` (NULL or one rank: the same as rlae_ensemble_open).
 * With dist.placement model_parallel and several ranks, member k's weights are loaded only on its
 * rank (k mod N, rlae_comm_chunk_owner); on the other ranks it is meta-only (rlae_member_load_meta:
 * configuration, tokenizer, chat template and cache lengths), and the rollout is wired to comm
 * (rlae_rollout_set_comm). Every rank logs one info line naming the members it holds weights for.
 * The encoder, if any, is loaded whole on every rank (every rank pools it). Exception: with
 * task.mc_scoring loglik / loglik_norm the evaluation runs every member on every rank (run/evaluate.c
 * scores options outside the rollout), so every rank loads every member's weights, saying so. */
struct rlae_comm;
rlae_status rlae_ensemble_open_dist(rlae_ensemble *e, const rlae_config *cfg, int max_batch, struct rlae_comm *comm);
void rlae_ensemble_close(rlae_ensemble *e);

#endif
