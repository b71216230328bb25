/* Exact tokenizers: one opaque type for every kind rlae reads.
 *
 *  - llama2.c tokenizer.bin (Karpathy's layout: int32 max_token_length, then per token float score,
 *    int32 len, bytes), encoded exactly as llama2.c's run.c does (BOS, dummy " " prefix, greedy
 *    best-score pair merges, byte fallback id = byte + 3).
 *  - Hugging Face tokenizer.json with a BPE model: byte-level (GPT-2, Llama-3, Qwen2 pre-tokenizer
 *    regexes) or SentencePiece-style (Metaspace / Prepend+Replace, byte_fallback, fuse_unk), with
 *    added/special tokens and NFC/NFD/NFKC/NFKD normalizers.
 *
 * The ensemble builds its union vocabulary from rlae_tokenizer_token_bytes: every token's exact byte
 * string (byte-level tokens through the GPT-2 byte<->unicode table, SentencePiece "▁" as a space and
 * "<0xXX>" as that byte). Encoding accepts any bytes, valid UTF-8 or not, and never crashes.
 * A loaded tokenizer is read-only: encode/decode may be called from several threads at once. */
#ifndef RLAE_TOKENIZER_H
#define RLAE_TOKENIZER_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

typedef struct rlae_tokenizer rlae_tokenizer;

typedef enum {
    RLAE_TOKENIZER_LLAMA2C = 0,  /* llama2.c tokenizer.bin */
    RLAE_TOKENIZER_HF_BYTELEVEL, /* tokenizer.json, BPE over the GPT-2 byte alphabet */
    RLAE_TOKENIZER_HF_SPM        /* tokenizer.json, SentencePiece-style BPE ("▁", byte fallback) */
} rlae_tokenizer_kind;

/* Loads PATH: a tokenizer.json, a directory holding one (tokenizer_config.json beside it is read for
 * bos/eos/add_bos_token when present), or a llama2.c tokenizer.bin (any other file name is tried as
 * tokenizer.bin unless it ends in .json). Errors are RLAE_ERR_INPUT naming the file and the JSON path
 * or byte offset; unsupported tokenizer.json components are named too. */
rlae_status rlae_tokenizer_load(const char *path, rlae_tokenizer **out);

/* Loads a tokenizer.json held in memory (len bytes, need not be NUL-terminated). NAME is used in
 * error messages in place of a file name. No tokenizer_config.json is read. */
rlae_status rlae_tokenizer_load_json_mem(const char *json, size_t len, const char *name,
                                         rlae_tokenizer **out);

void rlae_tokenizer_free(rlae_tokenizer *tok);

rlae_tokenizer_kind rlae_tokenizer_get_kind(const rlae_tokenizer *tok);
/* Number of ids: one more than the largest id of the model vocabulary and the added tokens. */
int rlae_tokenizer_vocab_size(const rlae_tokenizer *tok);
/* BOS / EOS ids, -1 when the tokenizer has none. */
int rlae_tokenizer_bos_id(const rlae_tokenizer *tok);
int rlae_tokenizer_eos_id(const rlae_tokenizer *tok);
/* Whether prompts are conventionally encoded with BOS first (llama2.c: yes; tokenizer.json: the
 * tokenizer_config.json add_bos_token, else whether the post-processor template starts with BOS). */
int rlae_tokenizer_default_add_bos(const rlae_tokenizer *tok);

/* Exact bytes of token ID (not NUL-terminated; *len may be 0 for an id no token holds). Special
 * tokens return their literal text (llama2.c: the piece as stored, e.g. "\n<s>\n"). NULL for an id out
 * of range. The pointer lives as long as the tokenizer. */
const uint8_t *rlae_tokenizer_token_bytes(const rlae_tokenizer *tok, int id, size_t *len);
/* 1 for tokens that do not spell text: special/control tokens (BOS, EOS, unk, added tokens marked
 * special) and ids that no token holds; 0 for ordinary tokens; -1 for an id out of range. */
int rlae_tokenizer_is_special(const rlae_tokenizer *tok, int id);
/* The token string as written in the file (e.g. "Ġthe", "▁the", "<0x0A>"), NUL-terminated; "" for an
 * id no token holds, NULL out of range. For llama2.c files this is the stored piece. */
const char *rlae_tokenizer_token_text(const rlae_tokenizer *tok, int id);
/* Id of a token given its string as written in the file (added tokens included), -1 if none. */
int rlae_tokenizer_token_id(const rlae_tokenizer *tok, const char *text);

/* Encodes LEN bytes of TEXT (any bytes). With add_bos and a tokenizer that has a BOS, the ids start
 * with it. *ids is malloc'd (free() it) and holds *n_ids ids; it is non-NULL even when *n_ids == 0. */
rlae_status rlae_tokenizer_encode(const rlae_tokenizer *tok, const void *text, size_t len, int add_bos,
                                  int32_t **ids, size_t *n_ids);

/* Bytes printed for ID when it follows PREV_ID (-1 for none), as llama2.c's run.c decode() does for
 * llama2.c tokenizers: after BOS (id 1) one leading space is stripped, "<0xXX>" gives the raw byte.
 * For tokenizer.json kinds: the token's exact bytes, with one leading space stripped after BOS when
 * the tokenizer adds a dummy prefix (SentencePiece style). */
const uint8_t *rlae_tokenizer_decode_piece(const rlae_tokenizer *tok, int prev_id, int id, size_t *len);

/* Exact bytes of a sequence of ids: the concatenation of the tokens' bytes, without special tokens
 * when skip_special, and (SentencePiece style, tokenizer.json or llama2.c) without the one leading
 * space the dummy prefix added. *out is malloc'd, NUL-terminated for convenience, *out_len bytes. For
 * byte-level tokenizers decode(encode(x)) == x for every byte string x. Ids out of range are an
 * RLAE_ERR_INPUT error. */
rlae_status rlae_tokenizer_decode(const rlae_tokenizer *tok, const int32_t *ids, size_t n_ids,
                                  int skip_special, char **out, size_t *out_len);

/* 1 if encoding a text adds a space in front of it (SentencePiece add_dummy_prefix, llama2.c's " "
 * prefix, Metaspace prepend_scheme first/always, a Prepend("▁") normalizer, ByteLevel
 * add_prefix_space); 0 otherwise. Text generated right after BOS then starts with that space. */
int rlae_tokenizer_adds_prefix_space(const rlae_tokenizer *tok);

/* 1 if ID is a byte-fallback piece ("<0xXX>") standing for one raw byte, 0 otherwise (-1 out of
 * range). Such a piece and an ordinary one-character token may spell the same byte. */
int rlae_tokenizer_is_byte_piece(const rlae_tokenizer *tok, int id);

/* Tokens that spell exactly LEN bytes of TEXT when appended in the middle of a text (the ensemble
 * feeds a member another member's token this way): no BOS, no dummy prefix / Metaspace prepend /
 * ByteLevel prefix space; otherwise the tokenizer's own pipeline (added tokens, pre-tokenization,
 * merges, byte fallback), so the result is what the member itself would have produced for this
 * text. When that pipeline cannot reproduce the bytes exactly (a normalizer rewrites them, or a
 * character is missing from a vocabulary without byte fallback), the bytes are spelled instead by
 * greedy longest match over the vocabulary's ordinary tokens' byte strings, and each character no
 * token spells becomes the unk token (or is dropped when there is none). *n_unspelled is the number
 * of input bytes not spelled exactly (0 = the concatenated token bytes equal TEXT). *ids is malloc'd,
 * non-NULL even when *n_ids == 0. Never fails on content; only on memory. */
rlae_status rlae_tokenizer_spell(const rlae_tokenizer *tok, const void *text, size_t len, int32_t **ids,
                                 size_t *n_ids, size_t *n_unspelled);

#endif
