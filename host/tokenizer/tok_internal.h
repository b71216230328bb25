/* Internals shared by the tokenizer files: the tokenizer struct, hash maps, the BPE merge engine,
 * UTF-8 helpers, normalizer and pre-tokenizer trees. Not part of the public API (tokenizer.h). */
#ifndef RLAE_TOK_INTERNAL_H
#define RLAE_TOK_INTERNAL_H

#include "tokenizer/tokenizer.h"

#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* ---- growable buffers ------------------------------------------------------------------------- */
typedef struct {
    uint8_t *p;
    size_t n, cap;
} tok_bytes;
rlae_status tok_bytes_append(tok_bytes *b, const void *src, size_t n);

typedef struct {
    int32_t *p;
    size_t n, cap;
} tok_ids;
rlae_status tok_ids_push(tok_ids *v, int32_t id);

/* ---- hash maps (open addressing, power-of-two capacity, never shrink) -------------------------- */
/* Byte string -> id. Keys are NOT copied: they must outlive the map (they point into the
 * tokenizer's own token storage). */
typedef struct {
    const uint8_t **keys;
    uint32_t *lens;
    int32_t *vals;
    size_t cap, n;
} tok_strmap;
rlae_status tok_strmap_init(tok_strmap *m, size_t expected);
/* Inserts or overwrites. */
rlae_status tok_strmap_put(tok_strmap *m, const uint8_t *key, size_t len, int32_t val);
int32_t tok_strmap_get(const tok_strmap *m, const void *key, size_t len); /* -1 if absent */
void tok_strmap_free(tok_strmap *m);

/* 64-bit key (never UINT64_MAX) -> int32 value. */
typedef struct {
    uint64_t *keys;
    int32_t *vals;
    size_t cap, n;
} tok_u64map;
rlae_status tok_u64map_init(tok_u64map *m, size_t expected);
rlae_status tok_u64map_put(tok_u64map *m, uint64_t key, int32_t val);
int32_t tok_u64map_get(const tok_u64map *m, uint64_t key); /* -1 if absent */
void tok_u64map_free(tok_u64map *m);

/* ---- UTF-8 ------------------------------------------------------------------------------------ */
/* Length of the well-formed UTF-8 character at s (1..4), or 0 if the bytes there are not one
 * (stray continuation, overlong form, surrogate, > U+10FFFF, truncated). Same rules as Python's and
 * Rust's strict decoders, so the valid/invalid split agrees with the reference tools. */
int tok_utf8_char_len(const uint8_t *s, size_t n);
/* Decodes a character of length len (from tok_utf8_char_len). */
uint32_t tok_utf8_decode(const uint8_t *s, int len);
/* Writes cp as UTF-8 into out (4 bytes room); returns the length. */
int tok_utf8_encode(uint32_t cp, uint8_t *out);

/* ---- GPT-2 byte <-> unicode table (byte_unicode.c) --------------------------------------------- */
/* Code point that stands for byte b in byte-level BPE vocabularies. */
uint32_t tok_byte_to_unicode(uint8_t b);
/* Byte a code point stands for, or -1 if it is not in the table. */
int tok_unicode_to_byte(uint32_t cp);
/* Decodes a byte-level token string (UTF-8 of table code points) into raw bytes. out must have room
 * for len bytes. Returns the number of bytes, or -1 if a character is not in the table. */
long tok_bytelevel_to_bytes(const uint8_t *s, size_t len, uint8_t *out);

/* ---- BPE merge engine (tok_bpe.c) ------------------------------------------------------------ */
/* Decides whether adjacent symbols a,b merge: returns 1 and sets *prio (lower merges first) and
 * *merged, or 0. Ties in prio go to the leftmost pair, as in both llama2.c and HF tokenizers. */
typedef int (*tok_pair_fn)(const void *ctx, int32_t a, int32_t b, double *prio, int32_t *merged);

typedef struct tok_bpe_ws tok_bpe_ws; /* scratch space reused across words of one encode call */
tok_bpe_ws *tok_bpe_ws_new(void);
void tok_bpe_ws_free(tok_bpe_ws *ws);
/* Merges the n symbol ids in `syms` greedily (best prio first, leftmost on ties) until no adjacent
 * pair merges; appends the resulting ids to out. O(n log n). */
rlae_status tok_bpe_merge(tok_bpe_ws *ws, const int32_t *syms, size_t n, tok_pair_fn fn,
                          const void *ctx, tok_ids *out);

/* ---- normalizers and pre-tokenizers (normalize.c, pretokenize.c) ------------------------------ */
typedef enum {
    TOK_NORM_SEQUENCE,
    TOK_NORM_NFC,
    TOK_NORM_NFD,
    TOK_NORM_NFKC,
    TOK_NORM_NFKD,
    TOK_NORM_PREPEND,
    TOK_NORM_REPLACE
} tok_norm_type;

typedef struct tok_norm {
    tok_norm_type type;
    uint8_t *a, *b; /* Prepend: a; Replace: pattern a (literal, unless re) -> content b */
    size_t alen, blen;
    pcre2_code *re; /* Replace with a Regex pattern */
    struct tok_norm *kids;
    int n_kids;
} tok_norm;

typedef enum {
    TOK_PRE_SEQUENCE,
    TOK_PRE_BYTELEVEL,
    TOK_PRE_SPLIT,
    TOK_PRE_METASPACE,
    TOK_PRE_DIGITS
} tok_pre_type;

typedef enum {
    TOK_SPLIT_REMOVED,
    TOK_SPLIT_ISOLATED,
    TOK_SPLIT_MERGED_WITH_PREVIOUS,
    TOK_SPLIT_MERGED_WITH_NEXT,
    TOK_SPLIT_CONTIGUOUS
} tok_split_behavior;

typedef enum { TOK_PREPEND_ALWAYS, TOK_PREPEND_FIRST, TOK_PREPEND_NEVER } tok_prepend_scheme;

typedef struct tok_pre {
    tok_pre_type type;
    pcre2_code *re;              /* Split (regex or escaped literal); ByteLevel with use_regex */
    tok_split_behavior behavior; /* Split */
    int invert;                  /* Split */
    int add_prefix_space;        /* ByteLevel */
    uint8_t repl[8];             /* Metaspace replacement character (UTF-8) */
    int repl_len;
    tok_prepend_scheme prepend;  /* Metaspace */
    int split;                   /* Metaspace: split on the replacement character */
    int individual_digits;       /* Digits */
    struct tok_pre *kids;
    int n_kids;
} tok_pre;

/* A list of byte pieces kept in one buffer; `first` marks a piece that starts at offset 0 of the
 * original input (Metaspace's prepend_scheme "first" needs it). */
typedef struct {
    size_t off, len;
    int first;
} tok_piece;
typedef struct {
    tok_bytes buf;
    tok_piece *p;
    size_t n, cap;
} tok_pieces;
rlae_status tok_pieces_add(tok_pieces *ps, const uint8_t *s, size_t len, int first);
void tok_pieces_clear(tok_pieces *ps);
void tok_pieces_free(tok_pieces *ps);

/* Compiles a tokenizer.json regex for PCRE2 (UTF + UCP), rewriting \s and \S to Unicode's
 * White_Space set the way the Oniguruma/Rust regex engines behind HF tokenizers read them. */
rlae_status tok_regex_compile(const char *pattern, size_t len, int literal, const char *where,
                              pcre2_code **out);
void tok_norm_free(tok_norm *n);
void tok_pre_free(tok_pre *p);
/* Normalizes s into out (appended). Invalid UTF-8 bytes pass through unchanged; Unicode
 * normalization is applied to each valid run between them. With cont (continuation of a text),
 * Prepend normalizers are skipped. */
rlae_status tok_normalize(const tok_norm *n, const uint8_t *s, size_t len, int cont, tok_bytes *out);
/* Splits each piece of `in` into words appended to `out`. With cont (continuation of a text),
 * Metaspace prepends no replacement and ByteLevel adds no prefix space. */
rlae_status tok_pretokenize(const tok_pre *p, const tok_pieces *in, int cont, tok_pieces *out);
/* Compiles GPT-2's split regex (ByteLevel with use_regex). */
rlae_status tok_pre_bytelevel_regex(pcre2_code **out, const char *where);
/* Whether the tree contains a ByteLevel pre-tokenizer. */
int tok_pre_has_bytelevel(const tok_pre *p);

/* ---- the tokenizer ---------------------------------------------------------------------------- */
typedef struct {
    uint8_t *content;
    size_t len;
    int32_t id;
    uint8_t special, lstrip, rstrip, single_word, normalized;
} tok_added;

struct rlae_tokenizer {
    rlae_tokenizer_kind kind;
    char *name; /* file path, for messages */
    int vocab_size;
    char **text;         /* token string as in the file, NUL-terminated ("" for holes) */
    uint32_t *text_len;
    uint8_t **bytes;     /* exact bytes (may alias text) */
    uint32_t *bytes_len;
    uint8_t *special;    /* 1: special/control token or hole */
    uint8_t *owns_bytes; /* 1: bytes[i] is its own allocation */
    int bos_id, eos_id, unk_id;
    int add_bos;      /* default for prompts */
    int strip_prefix; /* decode strips the dummy-prefix space (SentencePiece conventions) */
    tok_strmap vocab; /* model vocabulary: text as in the file -> id */

    /* llama2.c */
    float *scores;
    int max_token_length;

    /* tokenizer.json BPE */
    tok_u64map merges;  /* (a << 32 | b) -> rank */
    int32_t *merge_new; /* rank -> merged id */
    int byte_fallback, fuse_unk, ignore_merges;
    int32_t byte_sym[256]; /* byte-level: id of each byte's symbol; SPM: id of "<0xXX>"; -1 none */
    tok_norm *norm;
    tok_pre *pre;
    tok_added *added;
    int n_added;
    char **retired; /* model texts replaced by an added token's; still keys of `vocab` */
    int n_retired;

    /* rlae_tokenizer_spell's fallback (tok_spell.c): exact bytes of ordinary tokens -> id, built on
     * first use under that file's mutex (a cache; the tokenizer stays logically read-only). */
    tok_strmap *spell_map;
    size_t spell_max_len;
};

/* Allocates the per-id arrays for vocab_size ids (all holes). */
rlae_status tok_alloc_vocab(rlae_tokenizer *t, int vocab_size);
/* Sets token id's text (copied); bytes alias the text until tok_set_bytes. */
rlae_status tok_set_text(rlae_tokenizer *t, int id, const void *text, size_t len);
/* Sets token id's exact bytes (copied). */
rlae_status tok_set_bytes(rlae_tokenizer *t, int id, const void *bytes, size_t len);

/* Flags of the kind-specific encoders: BOS first (if the tokenizer has one); continuation of a text
 * (no dummy " " prefix, Prepend normalizer, Metaspace prepend or ByteLevel prefix space). */
enum { TOK_ENC_BOS = 1, TOK_ENC_CONT = 2 };

rlae_status tok_llama2c_load(const char *path, rlae_tokenizer **out);
rlae_status tok_llama2c_encode(const rlae_tokenizer *t, const uint8_t *s, size_t len, int flags,
                               tok_ids *out);
/* Parses "<0xXX>" (exactly that form); returns the byte or -1. */
int tok_parse_byte_piece(const char *s, size_t len);

rlae_status tok_hf_load_json(const char *json, size_t len, const char *name, const char *config_path,
                             rlae_tokenizer **out);
/* Encodes without BOS (rlae_tokenizer_encode pushes it); flags: TOK_ENC_CONT. */
rlae_status tok_hf_encode(const rlae_tokenizer *t, const uint8_t *s, size_t len, int flags, tok_ids *out);

#endif
