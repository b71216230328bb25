/* The union vocabulary: exact entries of a hand-checkable union of two tiny tokenizers (EOS at 0,
 * sorted byte strings, a byte piece and a character token mapping to one entry, specials left out,
 * spelled sequences and stats); member -> union and union -> member consistent both ways for
 * stories260K + babyllama105 (which cannot spell "\n") and GPT-2 + Llama 2; a byte-level and a
 * SentencePiece tokenizer meeting in the same entries for the same strings; determinism across
 * builds and member orders; several threads spelling at once; build times printed. */
#include "test.h"
#include "ensemble/vocab_union.h"

#include <pthread.h>
#include <stdint.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
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

static rlae_vocab_union *build(rlae_tokenizer **toks, int n, const char *what)
{
    rlae_vocab_union *u = NULL;
    double t0 = now();
    rlae_status s = rlae_vocab_union_build((const rlae_tokenizer *const *)toks, n, NULL, &u);
    double dt = now() - t0;
    CHECK_MSG(s == RLAE_OK, "%s: %s", what, rlae_last_error());
    if (u)
        printf("%s: union of %d members has %d entries, built in %.1f ms\n", what, n, rlae_vocab_union_size(u),
               dt * 1e3);
    return u;
}

static int bytes_eq(const uint8_t *a, size_t la, const void *b, size_t lb)
{
    return la == lb && (la == 0 || memcmp(a, b, la) == 0);
}

static int is_eos_of(const rlae_tokenizer *t, int id)
{
    return id == rlae_tokenizer_eos_id(t) ||
           (rlae_tokenizer_get_kind(t) == RLAE_TOKENIZER_LLAMA2C && id == rlae_tokenizer_bos_id(t));
}

/* Member k's spelling of entry id: checks it, returns n_unspelled (-1 on error). */
static int check_spelling(rlae_vocab_union *u, const rlae_tokenizer *t, int k, int id)
{
    const int32_t *tok;
    int n, un;
    rlae_status s = rlae_vocab_union_member_tokens(u, k, id, &tok, &n, &un);
    CHECK_MSG(s == RLAE_OK, "member_tokens(%d, %d): %s", k, id, rlae_last_error());
    if (s != RLAE_OK)
        return -1;
    size_t len;
    const uint8_t *want = rlae_vocab_union_bytes(u, id, &len);
    if (id == RLAE_UNION_EOS) {
        CHECK(n == 1 && tok[0] == rlae_tokenizer_eos_id(t) && un == 0);
        return un;
    }
    CHECK_MSG(n >= 1, "member %d spells entry %d with no token", k, id);
    if (un == 0) { /* exact: the tokens' bytes concatenate to the entry */
        size_t at = 0;
        int ok = 1;
        for (int i = 0; i < n && ok; i++) {
            size_t bl;
            const uint8_t *b = rlae_tokenizer_token_bytes(t, tok[i], &bl);
            ok = b && !rlae_tokenizer_is_special(t, tok[i]) && bl <= len - at && memcmp(b, want + at, bl) == 0;
            at += bl;
        }
        CHECK_MSG(ok && at == len, "member %d: tokens of entry %d do not spell its bytes", k, id);
    }
    return un;
}

/* Both directions for every id and entry (member -> union always; union -> member for every
 * stride-th entry). Returns the number of (member, entry) pairs not spelled exactly. */
static int check_consistency(rlae_vocab_union *u, rlae_tokenizer **toks, int K, int stride)
{
    int size = rlae_vocab_union_size(u), inexact = 0;
    CHECK_EQ_INT(rlae_vocab_union_n_members(u), K);
    size_t l0;
    CHECK(rlae_vocab_union_bytes(u, RLAE_UNION_EOS, &l0) != NULL && l0 == 0);
    CHECK(rlae_vocab_union_bytes(u, size, &l0) == NULL);
    /* entries strictly increasing by bytes; find() gives each back */
    int order_ok = 1, find_ok = 1;
    for (int e = 1; e < size; e++) {
        size_t la, lb;
        const uint8_t *b = rlae_vocab_union_bytes(u, e, &lb);
        if (e > 1) {
            const uint8_t *a = rlae_vocab_union_bytes(u, e - 1, &la);
            int c = memcmp(a, b, la < lb ? la : lb);
            order_ok &= c < 0 || (c == 0 && la < lb);
        }
        find_ok &= lb > 0 && rlae_vocab_union_find(u, b, lb) == e;
    }
    CHECK(order_ok);
    CHECK(find_ok);
    for (int k = 0; k < K; k++) {
        const int32_t *map = rlae_vocab_union_member_map(u, k);
        const rlae_tokenizer *t = toks[k];
        int bad = 0, mapped = 0;
        for (int id = 0; id < rlae_tokenizer_vocab_size(t); id++) {
            size_t tl, ul;
            const uint8_t *tb = rlae_tokenizer_token_bytes(t, id, &tl);
            int e = map[id];
            mapped += e >= 0;
            if (e == RLAE_UNION_EOS)
                bad += !is_eos_of(t, id);
            else if (e > 0) {
                const uint8_t *ub = rlae_vocab_union_bytes(u, e, &ul);
                bad += !ub || !bytes_eq(ub, ul, tb, tl) || rlae_tokenizer_is_special(t, id);
            } else
                bad += e != -1 || (!rlae_tokenizer_is_special(t, id) && tl > 0 && !is_eos_of(t, id));
        }
        CHECK_MSG(bad == 0, "member %d: %d ids mapped inconsistently", k, bad);
        rlae_vocab_union_member_stats st;
        rlae_vocab_union_stats(u, k, &st);
        CHECK_EQ_INT(st.vocab_size, rlae_tokenizer_vocab_size(t));
        CHECK_EQ_INT(st.mapped, mapped);
        CHECK_EQ_INT(st.specials, st.vocab_size - mapped);
        CHECK(st.distinct <= size && st.shared <= st.distinct);
        for (int e = 0; e < size; e += (e == 0 ? 1 : stride))
            inexact += check_spelling(u, t, k, e) != 0;
    }
    return inexact;
}

/* Same entry list (and the same maps, members permuted by perm). */
static void check_same(const rlae_vocab_union *a, const rlae_vocab_union *b, rlae_tokenizer **toks, const int *perm,
                       int K)
{
    CHECK_EQ_INT(rlae_vocab_union_size(a), rlae_vocab_union_size(b));
    if (rlae_vocab_union_size(a) != rlae_vocab_union_size(b))
        return;
    int same = 1;
    for (int e = 0; e < rlae_vocab_union_size(a); e++) {
        size_t la, lb;
        const uint8_t *pa = rlae_vocab_union_bytes(a, e, &la), *pb = rlae_vocab_union_bytes(b, e, &lb);
        same &= bytes_eq(pa, la, pb, lb);
    }
    CHECK(same);
    for (int k = 0; k < K; k++)
        CHECK(memcmp(rlae_vocab_union_member_map(a, k), rlae_vocab_union_member_map(b, perm[k]),
                     (size_t)rlae_tokenizer_vocab_size(toks[k]) * sizeof(int32_t)) == 0);
}

/* Two tiny tokenizers: SentencePiece style with byte fallback (but no "<0x63>", so no "c"), and
 * byte-level. */
static const char tiny_spm[] =
    "{\"added_tokens\":[{\"id\":0,\"content\":\"<unk>\",\"special\":true},"
    "{\"id\":1,\"content\":\"<s>\",\"special\":true},{\"id\":2,\"content\":\"</s>\",\"special\":true}],"
    "\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\u2581\"},"
    "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\u2581\"}]},"
    "\"pre_tokenizer\":null,\"decoder\":null,"
    "\"model\":{\"type\":\"BPE\",\"byte_fallback\":true,\"unk_token\":\"<unk>\",\"vocab\":{\"<unk>\":0,"
    "\"<s>\":1,\"</s>\":2,\"<0x41>\":3,\"<0x0A>\":4,\"A\":5,\"b\":6,\"\u2581\":7,\"\u2581A\":8,\"Ab\":9},"
    "\"merges\":[\"\u2581 A\",\"A b\"]}}";
static const char tiny_bl[] =
    "{\"added_tokens\":[{\"id\":5,\"content\":\"<|endoftext|>\",\"special\":true}],\"normalizer\":null,"
    "\"pre_tokenizer\":{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"use_regex\":true},"
    "\"decoder\":{\"type\":\"ByteLevel\"},"
    "\"model\":{\"type\":\"BPE\",\"vocab\":{\"A\":0,\"b\":1,\"\u0120\":2,\"\u0120A\":3,\"c\":4,"
    "\"<|endoftext|>\":5,\"\u010a\":6},\"merges\":[\"\u0120 A\"]}}";

static void test_tiny(void)
{
    rlae_tokenizer *toks[2] = {load_mem(tiny_spm, "tiny-spm.json"), load_mem(tiny_bl, "tiny-bl.json")};
    if (!toks[0] || !toks[1])
        goto done;
    rlae_vocab_union *u = build(toks, 2, "tiny");
    if (!u)
        goto done;
    static const char *const want[] = {"", "\n", " ", " A", "A", "Ab", "b", "c"};
    CHECK_EQ_INT(rlae_vocab_union_size(u), 8);
    for (int e = 0; e < 8 && e < rlae_vocab_union_size(u); e++) {
        size_t len;
        const uint8_t *b = rlae_vocab_union_bytes(u, e, &len);
        CHECK_MSG(bytes_eq(b, len, want[e], strlen(want[e])), "entry %d is not \"%s\"", e, want[e]);
    }
    static const int32_t map0[] = {-1, -1, 0, 4, 1, 4, 6, 2, 3, 5}, map1[] = {4, 6, 2, 3, 7, 0, 1};
    CHECK(memcmp(rlae_vocab_union_member_map(u, 0), map0, sizeof map0) == 0);
    CHECK(memcmp(rlae_vocab_union_member_map(u, 1), map1, sizeof map1) == 0);
    CHECK(rlae_vocab_union_member_map(u, 2) == NULL);
    CHECK_EQ_INT(rlae_vocab_union_find(u, "Ab", 2), 5);
    CHECK_EQ_INT(rlae_vocab_union_find(u, "bb", 2), -1);
    CHECK_EQ_INT(rlae_vocab_union_find(u, "", 0), -1);
    CHECK_EQ_INT(rlae_vocab_union_find(u, "<s>", 3), -1);

    const int32_t *tok;
    int n, un;
    /* "A": the ordinary token 5, not the byte piece 3 */
    CHECK(rlae_vocab_union_member_tokens(u, 0, 4, &tok, &n, &un) == RLAE_OK && n == 1 && tok[0] == 5 && un == 0);
    /* "c": member 0 has neither the character nor its byte piece: unk, one byte unspelled */
    CHECK(rlae_vocab_union_member_tokens(u, 0, 7, &tok, &n, &un) == RLAE_OK && n == 1 && tok[0] == 0 && un == 1);
    /* "Ab" for the byte-level member: its own tokenization, A b */
    CHECK(rlae_vocab_union_member_tokens(u, 1, 5, &tok, &n, &un) == RLAE_OK && n == 2 && tok[0] == 0 &&
          tok[1] == 1 && un == 0);
    /* memoised: the same pointer the second time */
    const int32_t *again;
    CHECK(rlae_vocab_union_member_tokens(u, 1, 5, &again, &n, &un) == RLAE_OK && again == tok);
    /* EOS */
    CHECK(rlae_vocab_union_member_tokens(u, 0, 0, &tok, &n, &un) == RLAE_OK && n == 1 && tok[0] == 2);
    CHECK(rlae_vocab_union_member_tokens(u, 1, 0, &tok, &n, &un) == RLAE_OK && n == 1 && tok[0] == 5);
    CHECK(rlae_vocab_union_member_tokens(u, 2, 0, &tok, &n, &un) == RLAE_ERR_INPUT);
    CHECK(rlae_vocab_union_member_tokens(u, 0, 8, &tok, &n, &un) == RLAE_ERR_INPUT);

    rlae_vocab_union_member_stats st;
    rlae_vocab_union_stats(u, 0, &st);
    CHECK(st.vocab_size == 10 && st.mapped == 8 && st.specials == 2 && st.distinct == 7 && st.shared == 6);
    rlae_vocab_union_stats(u, 1, &st);
    CHECK(st.vocab_size == 7 && st.mapped == 7 && st.specials == 0 && st.distinct == 7 && st.shared == 6);
    CHECK_EQ_INT(check_consistency(u, toks, 2, 1), 1); /* only "c" for member 0 */

    rlae_tokenizer *rev[2] = {toks[1], toks[0]};
    rlae_vocab_union *r = build(rev, 2, "tiny reversed");
    static const int perm[2] = {1, 0};
    if (r)
        check_same(u, r, toks, perm, 2);
    rlae_vocab_union_free(r);
    rlae_vocab_union_free(u);

    CHECK(rlae_vocab_union_build((const rlae_tokenizer *const *)toks, 0, NULL, &u) == RLAE_ERR_INPUT && !u);
    CHECK(rlae_vocab_union_build((const rlae_tokenizer *const *)toks, 9, NULL, &u) == RLAE_ERR_INPUT && !u);
done:
    rlae_tokenizer_free(toks[0]);
    rlae_tokenizer_free(toks[1]);
}

/* Several threads ask for every entry's spelling at once (the memo and the tokenizer's lazy spell
 * table are both built under contention); each must see the same pointers. */
typedef struct {
    rlae_vocab_union *u;
    int k;
    const int32_t **seen; /* per entry, this thread's result */
    int failures;
} spell_job;

static void *spell_all(void *arg)
{
    spell_job *j = arg;
    for (int e = 0; e < rlae_vocab_union_size(j->u); e++) {
        const int32_t *tok;
        int n, un;
        j->failures += rlae_vocab_union_member_tokens(j->u, j->k, e, &tok, &n, &un) != RLAE_OK;
        j->seen[e] = tok;
    }
    return NULL;
}

static void check_threads(rlae_vocab_union *u, int k)
{
    enum { T = 4 };
    spell_job jobs[T];
    pthread_t th[T];
    int size = rlae_vocab_union_size(u);
    for (int i = 0; i < T; i++) {
        jobs[i] = (spell_job){u, k, calloc((size_t)size, sizeof(int32_t *)), 0};
        CHECK(pthread_create(&th[i], NULL, spell_all, &jobs[i]) == 0);
    }
    for (int i = 0; i < T; i++)
        pthread_join(th[i], NULL);
    int differ = 0;
    for (int i = 0; i < T; i++) {
        CHECK_EQ_INT(jobs[i].failures, 0);
        for (int e = 0; e < size; e++)
            differ += jobs[i].seen[e] != jobs[0].seen[e];
    }
    CHECK_EQ_INT(differ, 0);
    for (int i = 0; i < T; i++)
        free(jobs[i].seen);
}

/* stories260K (byte fallback) + babyllama105 (105 characters, no "\n"). */
static void test_llama2c(void)
{
    const char *env = getenv("RLAE_SHARED_DIR");
    char p512[4096], p105[4096];
    snprintf(p512, sizeof p512, "%s/models/stories260K/tok512.bin", env && *env ? env : RLAE_SOURCE_DIR "/../shared");
    snprintf(p105, sizeof p105, "%s/models/babyllama105/tok105.bin", env && *env ? env : RLAE_SOURCE_DIR "/../shared");
    struct stat st;
    if (stat(p512, &st) != 0 || stat(p105, &st) != 0) {
        printf("note: %s or %s not found; the llama2.c case is skipped\n", p512, p105);
        return;
    }
    rlae_tokenizer *toks[2] = {load(p512), load(p105)};
    if (!toks[0] || !toks[1])
        goto done;
    rlae_vocab_union *u = build(toks, 2, "stories260K + babyllama105");
    if (!u)
        goto done;
    check_threads(u, 1); /* first use: babyllama's spellings and its fallback table */
    int size = rlae_vocab_union_size(u);
    check_consistency(u, toks, 2, 1);
    /* BOS (1) and EOS (2) of both map to the shared EOS */
    for (int k = 0; k < 2; k++) {
        CHECK_EQ_INT(rlae_vocab_union_member_map(u, k)[1], RLAE_UNION_EOS);
        CHECK_EQ_INT(rlae_vocab_union_member_map(u, k)[2], RLAE_UNION_EOS);
        CHECK_EQ_INT(rlae_vocab_union_member_map(u, k)[0], -1);
    }
    const int32_t *tok;
    int n, un;
    int nl = rlae_vocab_union_find(u, "\n", 1);
    CHECK(nl > 0);
    CHECK(rlae_vocab_union_member_tokens(u, 1, nl, &tok, &n, &un) == RLAE_OK && n == 1 && tok[0] == 0 && un == 1);
    CHECK(rlae_vocab_union_member_tokens(u, 0, nl, &tok, &n, &un) == RLAE_OK && n == 1 && tok[0] == 3 + '\n' &&
          un == 0);
    /* babyllama spells exactly every entry made only of its characters, and no other */
    int built_of_chars = 0, bad = 0;
    for (int e = 1; e < size; e++) {
        size_t len;
        const uint8_t *b = rlae_vocab_union_bytes(u, e, &len);
        int ok = 1;
        for (size_t i = 0; i < len && ok;) {
            size_t cl = 1;
            while (i + cl < len && (b[i + cl] & 0xC0) == 0x80)
                cl++;
            int id = -1;
            for (int t = 0; t < rlae_tokenizer_vocab_size(toks[1]) && id < 0; t++) {
                size_t tl;
                const uint8_t *tb = rlae_tokenizer_token_bytes(toks[1], t, &tl);
                if (!rlae_tokenizer_is_special(toks[1], t) && bytes_eq(tb, tl, b + i, cl))
                    id = t;
            }
            ok = id >= 0;
            i += cl;
        }
        CHECK(rlae_vocab_union_member_tokens(u, 1, e, &tok, &n, &un) == RLAE_OK);
        built_of_chars += ok;
        bad += ok ? un != 0 : un == 0;
    }
    CHECK_MSG(bad == 0, "%d entries spelled by babyllama against its character set", bad);
    CHECK(built_of_chars > 100);
    printf("stories260K + babyllama105: %d of %d entries are made of babyllama's characters\n", built_of_chars,
           size - 1);
    rlae_vocab_union_free(u);
done:
    rlae_tokenizer_free(toks[0]);
    rlae_tokenizer_free(toks[1]);
}

static uint64_t rng_state = 0x2545F4914F6CDD1Dull;
static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 32) % n;
}

/* Llama 2's token with exactly these bytes (SentencePiece text: " " as "▁"), or -1. */
static int spm_token_with_bytes(const rlae_tokenizer *t, const uint8_t *b, size_t len)
{
    char text[1024];
    size_t o = 0;
    for (size_t i = 0; i < len && o + 4 < sizeof text; i++) {
        if (b[i] == ' ') {
            memcpy(text + o, "\xe2\x96\x81", 3);
            o += 3;
        } else
            text[o++] = (char)b[i];
    }
    text[o] = 0;
    int id = o < sizeof text - 4 && strlen(text) == o ? rlae_tokenizer_token_id(t, text) : -1;
    return id >= 0 && !rlae_tokenizer_is_special(t, id) ? id : -1;
}

/* GPT-2 (byte-level) + Llama 2 (SentencePiece): the same strings are the same entries. */
static void test_gpt2_llama2(void)
{
    rlae_tokenizer *toks[2] = {load(test_fixture_path("tokenizers/gpt2/tokenizer.json")),
                               load(test_fixture_path("tokenizers/llama2/tokenizer.json"))};
    if (!toks[0] || !toks[1])
        goto done;
    rlae_vocab_union *u = build(toks, 2, "GPT-2 + Llama 2");
    if (!u)
        goto done;
    int inexact = check_consistency(u, toks, 2, 37);
    CHECK_EQ_INT(inexact, 0); /* both spell any bytes (byte-level, byte fallback) */
    const int32_t *m0 = rlae_vocab_union_member_map(u, 0), *m1 = rlae_vocab_union_member_map(u, 1);

    /* Every GPT-2 token whose bytes Llama 2 also has as a token: one and the same entry. */
    int both = 0, bad = 0;
    for (int id = 0; id < rlae_tokenizer_vocab_size(toks[0]); id++) {
        size_t len;
        const uint8_t *b = rlae_tokenizer_token_bytes(toks[0], id, &len);
        if (rlae_tokenizer_is_special(toks[0], id))
            continue;
        int other = spm_token_with_bytes(toks[1], b, len);
        if (other < 0)
            continue;
        both++;
        bad += m0[id] != m1[other] || rlae_vocab_union_find(u, b, len) != m0[id];
    }
    CHECK_MSG(bad == 0, "%d of %d shared strings map to different entries", bad, both);
    CHECK(both > 10000);
    rlae_vocab_union_member_stats st;
    rlae_vocab_union_stats(u, 0, &st);
    CHECK(st.shared >= both - 256); /* Llama's byte pieces and characters may coincide */

    /* Random words: " w" as a token of both ("Ġw" and "▁w") is one entry, found by its bytes. */
    static const char letters[] = "etaoinshrdlucmfwypvbgkqjxz";
    int words = 0;
    bad = 0;
    for (int r = 0; r < 20000; r++) {
        char w[16] = " ", g2[20] = "\xc4\xa0"; /* "Ġ" */
        size_t len = 2 + rnd(6);
        for (size_t i = 1; i < len; i++)
            w[i] = letters[rnd(r % 2 ? 26 : 10)];
        memcpy(g2 + 2, w + 1, len - 1);
        int g = rlae_tokenizer_token_id(toks[0], g2), l = spm_token_with_bytes(toks[1], (const uint8_t *)w, len);
        if (g < 0 || l < 0)
            continue;
        words++;
        int e = rlae_vocab_union_find(u, w, len);
        bad += e <= 0 || m0[g] != e || m1[l] != e;
    }
    CHECK_MSG(bad == 0, "%d of %d random words map to different entries", bad, words);
    CHECK(words > 50);
    printf("GPT-2 + Llama 2: %d shared token strings, %d random words found in both\n", both, words);

    /* Determinism: again, and in the other order. */
    rlae_vocab_union *again = build(toks, 2, "GPT-2 + Llama 2 again");
    static const int same[2] = {0, 1}, swapped[2] = {1, 0};
    if (again)
        check_same(u, again, toks, same, 2);
    rlae_tokenizer *rev[2] = {toks[1], toks[0]};
    rlae_vocab_union *r = build(rev, 2, "Llama 2 + GPT-2");
    if (r)
        check_same(u, r, toks, swapped, 2);
    rlae_vocab_union_free(again);
    rlae_vocab_union_free(r);

    /* Size of a real ensemble: four members, 165k tokens. */
    rlae_tokenizer *four[4] = {toks[0], toks[1], toks[1], toks[0]};
    rlae_vocab_union *big = build(four, 4, "GPT-2 + Llama 2 + Llama 2 + GPT-2");
    if (big)
        CHECK_EQ_INT(rlae_vocab_union_size(big), rlae_vocab_union_size(u));
    rlae_vocab_union_free(big);
    rlae_vocab_union_free(u);
done:
    rlae_tokenizer_free(toks[0]);
    rlae_tokenizer_free(toks[1]);
}

int main(void)
{
    test_tiny();
    test_gpt2_llama2();
    test_llama2c();
    return test_summary("test_vocab_union");
}
