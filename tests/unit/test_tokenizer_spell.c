/* rlae_tokenizer_spell, rlae_tokenizer_adds_prefix_space and rlae_tokenizer_is_byte_piece: exact
 * spelling of random bytes and texts with byte-level (GPT-2), byte-fallback (Llama 2 tokenizer.json in
 * both layouts, stories260K's tok512.bin) and character-only (babyllama105's tok105.bin) vocabularies;
 * no BOS and no prefix space in a continuation; the tokenizer's own tokenization whenever it
 * reproduces the bytes; unk and the unspelled count for what a vocabulary cannot spell; the greedy
 * fallback behind a rewriting normalizer. */
#include "test.h"
#include "tokenizer/tokenizer.h"

#include <jansson.h>
#include <stdint.h>

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 32) % n;
}

/* A random byte string (any bytes) or a random text of words, spaces, newlines and non-ASCII. */
static size_t random_bytes(uint8_t *out, size_t cap)
{
    size_t n = rnd((uint32_t)cap);
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)rnd(256);
    return n;
}

static size_t random_text(uint8_t *out, size_t cap)
{
    static const char *const parts[] = {"the", "cat", "hello", "Once", "upon", "a", "time", "na\xc3\xafve",
                                        "caf\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "\xf0\x9f\x98\x80", "123",
                                        ",", ".", "!", " ", " ", " ", "  ", "\n", "\t", "\r\n", "'s", "Lily"};
    size_t n = 0, k = 1 + rnd(12);
    for (size_t i = 0; i < k; i++) {
        const char *p = parts[rnd(sizeof parts / sizeof *parts)];
        size_t l = strlen(p);
        if (n + l > cap)
            break;
        memcpy(out + n, p, l);
        n += l;
    }
    return n;
}

/* Spells s; checks the promises that hold for every tokenizer; returns the ids (free them). */
static int32_t *spell(const rlae_tokenizer *t, const void *s, size_t len, size_t *n, size_t *unspelled)
{
    int32_t *ids = NULL;
    rlae_status st = rlae_tokenizer_spell(t, s, len, &ids, n, unspelled);
    CHECK_MSG(st == RLAE_OK, "spell: %s", rlae_last_error());
    CHECK(ids != NULL);
    int bos = rlae_tokenizer_bos_id(t);
    for (size_t i = 0; ids && i < *n; i++)
        CHECK_MSG(ids[i] != bos || bos < 0, "spell put BOS at %zu", i);
    return ids;
}

/* 1 if the ids' concatenated token bytes are exactly s and none is special. */
static int spells_exactly(const rlae_tokenizer *t, const int32_t *ids, size_t n, const void *s, size_t len)
{
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        size_t bl;
        const uint8_t *b = rlae_tokenizer_token_bytes(t, ids[i], &bl);
        if (!b || rlae_tokenizer_is_special(t, ids[i]) || bl > len - at || memcmp(b, (const uint8_t *)s + at, bl))
            return 0;
        at += bl;
    }
    return at == len;
}

/* Random byte strings (when every byte is spellable) and random texts spell exactly. */
static void check_exact_random(const rlae_tokenizer *t, const char *what, int bytes_too)
{
    uint8_t buf[64];
    int bad = 0;
    for (int r = 0; r < 400; r++) {
        size_t len = (r % 2 && bytes_too) ? random_bytes(buf, 40) : random_text(buf, sizeof buf);
        size_t n, un;
        int32_t *ids = spell(t, buf, len, &n, &un);
        if (un != 0 || !spells_exactly(t, ids, n, buf, len))
            bad++;
        free(ids);
    }
    CHECK_MSG(bad == 0, "%s: %d of 400 random strings not spelled exactly", what, bad);
}

/* spell(PREFIX + w) == encode(w) without BOS for random texts w: a continuation is what the member
 * itself produces (PREFIX is " " for tokenizers that add a dummy prefix, "" otherwise). Texts that
 * start with a space are left out: Metaspace "first" adds no prefix to them. */
static void check_matches_encode(const rlae_tokenizer *t, const char *what)
{
    int pre = rlae_tokenizer_adds_prefix_space(t) == 1;
    uint8_t buf[80];
    int bad = 0;
    for (int r = 0; r < 300; r++) {
        buf[0] = ' ';
        size_t len = random_text(buf + pre, sizeof buf - 1);
        int32_t *want = NULL, *got;
        size_t nw = 0, ng, un;
        CHECK(rlae_tokenizer_encode(t, buf + pre, len, 0, &want, &nw) == RLAE_OK);
        got = spell(t, buf, len + (size_t)pre, &ng, &un);
        if (len > 0 && buf[pre] != ' ' && (ng != nw || memcmp(got, want, nw * sizeof *want) != 0))
            bad++;
        free(want);
        free(got);
    }
    CHECK_MSG(bad == 0, "%s: %d of 300 random texts spelled unlike encode", what, bad);
}

/* "abc" gets no prefix space, " abc" keeps exactly one. */
static void check_no_prefix(const rlae_tokenizer *t, const char *what)
{
    static const char *const cases[] = {"abc", " abc", "hello world", "  two"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        size_t n, un;
        int32_t *ids = spell(t, cases[i], strlen(cases[i]), &n, &un);
        CHECK_MSG(un == 0 && spells_exactly(t, ids, n, cases[i], strlen(cases[i])), "%s: \"%s\"", what, cases[i]);
        free(ids);
    }
}

/* A token's own bytes spell as that token when the tokenizer itself produces it for them. */
static void check_single(const rlae_tokenizer *t, const char *text_in_file)
{
    int id = rlae_tokenizer_token_id(t, text_in_file);
    CHECK_MSG(id >= 0, "no token \"%s\"", text_in_file);
    if (id < 0)
        return;
    size_t bl, n, un;
    const uint8_t *b = rlae_tokenizer_token_bytes(t, id, &bl);
    int32_t *ids = spell(t, b, bl, &n, &un);
    CHECK_MSG(n == 1 && ids[0] == id && un == 0, "\"%s\": %zu ids, first %d, want %d", text_in_file, n,
              n ? ids[0] : -1, id);
    free(ids);
}

static rlae_tokenizer *load(const char *path)
{
    rlae_tokenizer *t = NULL;
    rlae_status s = rlae_tokenizer_load(path, &t);
    CHECK_MSG(s == RLAE_OK, "load %s: %s", path, rlae_last_error());
    return t;
}

static rlae_tokenizer *load_mem(const char *json, const char *name)
{
    rlae_tokenizer *t = NULL;
    rlae_status s = rlae_tokenizer_load_json_mem(json, strlen(json), name, &t);
    CHECK_MSG(s == RLAE_OK, "%s: %s", name, rlae_last_error());
    return t;
}

/* The Llama 2 fixture in transformers' non-legacy layout (Metaspace, prepend_scheme first). */
static rlae_tokenizer *load_llama2_metaspace(void)
{
    json_error_t jerr;
    json_t *j = json_load_file(test_fixture_path("tokenizers/llama2/tokenizer.json"), 0, &jerr);
    json_t *p = json_loads("{\"type\":\"Metaspace\",\"replacement\":\"\u2581\",\"prepend_scheme\":\"first\","
                           "\"split\":false}", 0, &jerr);
    CHECK(j && p);
    if (!j || !p)
        return NULL;
    json_object_set_new(j, "normalizer", json_null());
    json_object_set_new(j, "pre_tokenizer", p);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    rlae_tokenizer *t = load_mem(text, "llama2-metaspace.json");
    free(text);
    return t;
}

/* Path under the shared assets, or NULL (those cases are then skipped, the rest still run). */
static const char *shared_file(const char *rel)
{
    static char buf[8192];
    const char *env = getenv("RLAE_SHARED_DIR");
    snprintf(buf, sizeof buf, "%s/%s", env && *env ? env : RLAE_SOURCE_DIR "/../shared", rel);
    struct stat st;
    if (stat(buf, &st) != 0) {
        printf("note: %s not found; its cases are skipped\n", buf);
        return NULL;
    }
    return buf;
}

int main(void)
{
    rlae_tokenizer *t;
    size_t n, un;
    int32_t *ids;

    /* GPT-2: byte-level, no prefix space, no byte pieces. */
    if ((t = load(test_fixture_path("tokenizers/gpt2/tokenizer.json"))) != NULL) {
        CHECK_EQ_INT(rlae_tokenizer_adds_prefix_space(t), 0);
        CHECK_EQ_INT(rlae_tokenizer_is_byte_piece(t, rlae_tokenizer_token_id(t, "A")), 0);
        CHECK_EQ_INT(rlae_tokenizer_is_byte_piece(t, -1), -1);
        check_exact_random(t, "gpt2", 1);
        check_matches_encode(t, "gpt2");
        check_no_prefix(t, "gpt2");
        check_single(t, "\xc4\xa0the"); /* "Ġthe" */
        check_single(t, "hello");
        /* Special-token text is spelled with ordinary tokens, never as the special token. */
        ids = spell(t, "a<|endoftext|>b", 15, &n, &un);
        CHECK(un == 0 && spells_exactly(t, ids, n, "a<|endoftext|>b", 15));
        free(ids);
        ids = spell(t, "", 0, &n, &un);
        CHECK(n == 0 && un == 0);
        free(ids);
        rlae_tokenizer_free(t);
    }

    /* Llama 2 tokenizer.json, legacy layout (Prepend + Replace normalizer), byte fallback. */
    if ((t = load(test_fixture_path("tokenizers/llama2/tokenizer.json"))) != NULL) {
        CHECK_EQ_INT(rlae_tokenizer_adds_prefix_space(t), 1);
        CHECK_EQ_INT(rlae_tokenizer_is_byte_piece(t, rlae_tokenizer_token_id(t, "<0x41>")), 1);
        CHECK_EQ_INT(rlae_tokenizer_is_byte_piece(t, rlae_tokenizer_token_id(t, "A")), 0);
        CHECK_EQ_INT(rlae_tokenizer_is_byte_piece(t, rlae_tokenizer_bos_id(t)), 0);
        check_exact_random(t, "llama2 json", 1);
        check_matches_encode(t, "llama2 json");
        check_no_prefix(t, "llama2 json");
        check_single(t, "\xe2\x96\x81the"); /* "▁the" */
        check_single(t, "ing");
        ids = spell(t, "<s>x</s>", 8, &n, &un);
        CHECK(un == 0 && spells_exactly(t, ids, n, "<s>x</s>", 8));
        free(ids);
        rlae_tokenizer_free(t);
    }
    if ((t = load_llama2_metaspace()) != NULL) {
        CHECK_EQ_INT(rlae_tokenizer_adds_prefix_space(t), 1);
        check_exact_random(t, "llama2 metaspace", 1);
        check_matches_encode(t, "llama2 metaspace");
        check_no_prefix(t, "llama2 metaspace");
        check_single(t, "\xe2\x96\x81the");
        rlae_tokenizer_free(t);
    }

    /* A rewriting normalizer (NFKC turns the ligature into "fi"): the pipeline cannot reproduce the
     * bytes, the greedy fallback spells them with the ligature token. No byte fallback and no unk:
     * a character nothing spells is dropped and counted. */
    static const char nfkc[] =
        "{\"normalizer\":{\"type\":\"NFKC\"},\"pre_tokenizer\":null,\"decoder\":null,\"added_tokens\":[],"
        "\"model\":{\"type\":\"BPE\",\"vocab\":{\"f\":0,\"i\":1,\"fi\":2,\"\xef\xac\x81\":3,\"x\":4},"
        "\"merges\":[\"f i\"]}}";
    if ((t = load_mem(nfkc, "nfkc.json")) != NULL) {
        CHECK_EQ_INT(rlae_tokenizer_adds_prefix_space(t), 0);
        ids = spell(t, "fi", 2, &n, &un);
        CHECK(n == 1 && ids[0] == 2 && un == 0); /* the pipeline's own result */
        free(ids);
        ids = spell(t, "x\xef\xac\x81", 4, &n, &un);
        CHECK(n == 2 && ids[0] == 4 && ids[1] == 3 && un == 0);
        free(ids);
        ids = spell(t, "f\xc3\xa9x", 4, &n, &un); /* "é" is in no token */
        CHECK(n == 2 && ids[0] == 0 && ids[1] == 4 && un == 2);
        free(ids);
        rlae_tokenizer_free(t);
    }

    /* stories260K: llama2.c with byte fallback <0x00>..<0xFF> at ids 3..258. */
    const char *p = shared_file("models/stories260K/tok512.bin");
    if (p && (t = load(p)) != NULL) {
        CHECK_EQ_INT(rlae_tokenizer_adds_prefix_space(t), 1);
        CHECK_EQ_INT(rlae_tokenizer_is_byte_piece(t, 3 + 0x41), 1);
        CHECK_EQ_INT(rlae_tokenizer_is_byte_piece(t, 3), 1);
        CHECK_EQ_INT(rlae_tokenizer_is_byte_piece(t, 1), 0);
        CHECK_EQ_INT(rlae_tokenizer_is_byte_piece(t, 300), 0);
        CHECK_EQ_INT(rlae_tokenizer_is_byte_piece(t, rlae_tokenizer_vocab_size(t)), -1);
        check_exact_random(t, "tok512", 1);
        check_matches_encode(t, "tok512");
        check_no_prefix(t, "tok512");
        check_single(t, " the");
        ids = spell(t, "\n", 1, &n, &un);
        CHECK(n == 1 && ids[0] == 3 + '\n' && un == 0);
        free(ids);
        rlae_tokenizer_free(t);
    }

    /* babyllama105: 105 characters, no byte fallback, no "\n": run.c's byte + 3 would be a wrong
     * character; spell reports the byte and uses unk (id 0). */
    p = shared_file("models/babyllama105/tok105.bin");
    if (p && (t = load(p)) != NULL) {
        CHECK_EQ_INT(rlae_tokenizer_adds_prefix_space(t), 1);
        CHECK_EQ_INT(rlae_tokenizer_token_id(t, "\n"), -1);
        for (int id = 0; id < rlae_tokenizer_vocab_size(t); id++)
            CHECK_EQ_INT(rlae_tokenizer_is_byte_piece(t, id), 0);
        ids = spell(t, "\n", 1, &n, &un);
        CHECK(n == 1 && ids[0] == 0 && un == 1);
        free(ids);
        ids = spell(t, "hello", 5, &n, &un);
        CHECK(un == 0 && spells_exactly(t, ids, n, "hello", 5));
        free(ids);
        ids = spell(t, "hi\nyou \xe6\x97\xa5", 10, &n, &un);
        size_t unks = 0;
        for (size_t i = 0; i < n; i++)
            unks += ids[i] == 0;
        CHECK(un == 4 && unks == 2 && n == 8); /* h i <unk> y o u " " <unk> */
        free(ids);
        check_no_prefix(t, "tok105");
        rlae_tokenizer_free(t);
    }
    return test_summary("test_tokenizer_spell");
}
