/* The union vocabulary of an ensemble (METHOD.md §3, steps 1-2): the set of distinct exact byte
 * strings that the members' ordinary tokens spell, plus ONE shared end-of-sequence entry.
 *
 *   - Every member token becomes its exact bytes (rlae_tokenizer_token_bytes: byte-level BPE through
 *     the GPT-2 byte<->unicode table, SentencePiece "▁" as a space, "<0xXX>" as that byte).
 *   - Special tokens (BOS, EOS, pad, unk, chat markers, ids no token holds) stay out of the union,
 *     except that each member's EOS maps to the shared EOS entry (llama2.c members: BOS, id 1, too,
 *     because llama2.c models end a story by writing BOS).
 *   - Order is deterministic: id 0 is EOS (RLAE_UNION_EOS), then the byte strings sorted by memcmp
 *     (a shorter string before a longer one it prefixes). Two runs, or two machines, always agree.
 *   - member -> union: map[k][t] is the union id of member k's token t, or -1 for specials that are
 *     left out. Many-to-one is allowed (a byte piece "<0x41>" and the token "A" both map to "A"):
 *     the mixer adds their probabilities.
 *   - union -> member: the token sequence that spells entry u for member k: a single token when the
 *     member has a token with exactly those bytes (an ordinary token preferred over a byte piece,
 *     then the lowest id), otherwise rlae_tokenizer_spell (the member's own tokenization), computed
 *     on first use and memoised. The EOS entry spells as the member's EOS token.
 *
 * A built union is read-only except for the memo, which is guarded by a mutex: every function here
 * may be called from several threads at once. */
#ifndef RLAE_ENSEMBLE_VOCAB_UNION_H
#define RLAE_ENSEMBLE_VOCAB_UNION_H

#include "core/status.h"
#include "tokenizer/tokenizer.h"

#include <stddef.h>
#include <stdint.h>

#define RLAE_UNION_EOS 0

typedef struct rlae_vocab_union rlae_vocab_union;

/* Per-member overlap figures, logged at build and shown by `rlae generate --show-weights`. */
typedef struct {
    int vocab_size;  /* member ids */
    int mapped;      /* ids that map to some union entry (EOS included) */
    int specials;    /* ids left out (-1 in the map) */
    int distinct;    /* distinct union entries this member's tokens reach */
    int shared;      /* of those, entries some other member also has as a single token */
} rlae_vocab_union_member_stats;

/* Builds the union of n_members tokenizers (1 <= n_members <= 8; the tokenizers must outlive it).
 * NAMES (may be NULL) label members in the log line. Logs the union size and per-member overlap at
 * info level. */
rlae_status rlae_vocab_union_build(const rlae_tokenizer *const *toks, int n_members, const char *const *names,
                                   rlae_vocab_union **out);
void rlae_vocab_union_free(rlae_vocab_union *u);

int rlae_vocab_union_size(const rlae_vocab_union *u);
int rlae_vocab_union_n_members(const rlae_vocab_union *u);

/* Exact bytes of entry ID (not NUL-terminated; the EOS entry has length 0). NULL if out of range. */
const uint8_t *rlae_vocab_union_bytes(const rlae_vocab_union *u, int id, size_t *len);

/* Union id of exactly these bytes, or -1 if no member token spells them (binary search). */
int rlae_vocab_union_find(const rlae_vocab_union *u, const void *bytes, size_t len);

/* member -> union map of member k: [vocab_size of member k] entries, union id or -1. Lives as long
 * as the union; upload it to the device once for the mixer. */
const int32_t *rlae_vocab_union_member_map(const rlae_vocab_union *u, int k);

/* The member-k token sequence that spells union entry ID (see above): *tokens points into the
 * union's memo (valid as long as the union), *n >= 1 except for bytes member k cannot spell at all
 * with no unk token, and for the EOS entry of a member without an EOS token. *n_unspelled counts
 * the entry's bytes the member could not spell exactly (0 for almost every entry; a member without
 * byte fallback may lack a character). */
rlae_status rlae_vocab_union_member_tokens(rlae_vocab_union *u, int k, int id, const int32_t **tokens, int *n,
                                           int *n_unspelled);

void rlae_vocab_union_stats(const rlae_vocab_union *u, int k, rlae_vocab_union_member_stats *out);

#endif
