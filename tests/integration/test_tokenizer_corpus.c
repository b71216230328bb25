/* Every tokenizer kind against independent reference ids on the fixture corpus (2000 lines of prose,
 * code, numbers, whitespace runs, accents, CJK, emoji, other scripts, special-token text and invalid
 * UTF-8; tests/fixtures/tokenizers, made by tools/make_tokenizer_fixtures.py):
 *   - llama2.c tokenizer.bin (stories260K, babyllama105, Llama 2): a Python port of run.c encode(),
 *     BOS on, every line (invalid UTF-8 included);
 *   - GPT-2 tokenizer.json: HF `tokenizers`, every line (invalid runs per the documented convention);
 *   - Llama 2 tokenizer.json (legacy Prepend+Replace layout, and the Metaspace layout): HF `tokenizers`
 *     on every valid-UTF-8 line, and sentencepiece on every valid line without special-token text.
 * Round trips, decode(encode(x)) == x byte for byte:
 *   - GPT-2: every line;
 *   - Llama 2 tokenizer.json (legacy layout): every line, invalid UTF-8 included (it comes back
 *     through <0xXX> byte fallback), except lines with "<s>", "</s>" or "<unk>" as text: HF's legacy
 *     layout prepends "▁" to each segment between special tokens, which adds spaces there;
 *   - llama2.c with byte fallback (tok512, Llama 2): every line without the text "<0x" or "<s>"/"</s>"
 *     (run.c's merges can spell those pieces from plain text, and they decode as a byte / BOS).
 * The shared tokenizer.bin files come from ../shared; without it those cases are skipped. */
#include "test.h"
#include "tokenizer/tokenizer.h"

#include <jansson.h>
#include <stdint.h>

typedef struct {
    uint8_t **line;
    size_t *len;
    size_t n;
} corpus;

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    if (p && fread(p, 1, (size_t)n, f) != (size_t)n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    if (p) {
        p[n] = 0;
        *len = (size_t)n;
    }
    return p;
}

static int hexval(int c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static corpus load_corpus(void)
{
    corpus c = {0};
    size_t len;
    char *text = slurp(test_fixture_path("tokenizers/corpus.hex"), &len);
    if (!text) {
        fprintf(stderr, "cannot read corpus.hex\n");
        exit(1);
    }
    size_t cap = 0;
    for (char *p = text, *nl; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        if (!nl)
            break;
        size_t hl = (size_t)(nl - p);
        if (c.n == cap) {
            cap = cap ? cap * 2 : 1024;
            c.line = realloc(c.line, cap * sizeof *c.line);
            c.len = realloc(c.len, cap * sizeof *c.len);
        }
        uint8_t *b = malloc(hl / 2 + 1);
        for (size_t i = 0; i < hl / 2; i++)
            b[i] = (uint8_t)(hexval(p[2 * i]) * 16 + hexval(p[2 * i + 1]));
        c.line[c.n] = b;
        c.len[c.n++] = hl / 2;
    }
    free(text);
    return c;
}

static void free_corpus(corpus *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->line[i]);
    free(c->line);
    free(c->len);
}

/* Reference ids, one row per corpus line; row NULL ("-") where the reference cannot take the line. */
typedef struct {
    int32_t **ids;
    size_t *n;
    size_t rows;
} refs;

static refs load_refs(const char *name)
{
    refs r = {0};
    size_t len;
    char *text = slurp(test_fixture_path(name), &len);
    if (!text) {
        fprintf(stderr, "cannot read fixture %s\n", name);
        exit(1);
    }
    size_t cap = 0;
    for (char *p = text, *nl; *p; p = nl + 1) {
        nl = strchr(p, '\n');
        if (!nl)
            break;
        *nl = 0;
        if (r.rows == cap) {
            cap = cap ? cap * 2 : 1024;
            r.ids = realloc(r.ids, cap * sizeof *r.ids);
            r.n = realloc(r.n, cap * sizeof *r.n);
        }
        int32_t *row = NULL;
        size_t n = 0;
        if (strcmp(p, "-") != 0) {
            row = malloc((strlen(p) / 2 + 2) * sizeof *row);
            for (char *q = p, *end; *q; q = end) {
                long v = strtol(q, &end, 10);
                if (end == q)
                    break;
                row[n++] = (int32_t)v;
            }
        }
        r.ids[r.rows] = row;
        r.n[r.rows++] = n;
    }
    free(text);
    return r;
}

static void free_refs(refs *r)
{
    for (size_t i = 0; i < r->rows; i++)
        free(r->ids[i]);
    free(r->ids);
    free(r->n);
}

static int contains(const uint8_t *s, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++)
        if (memcmp(s + i, needle, m) == 0)
            return 1;
    return 0;
}

enum { RT_NONE, RT_ALL, RT_L2C, RT_NO_SPECIAL_TEXT };

/* Compares encode() with one reference file; returns the number of mismatching lines. */
static void run_case(const char *what, rlae_tokenizer *tok, const corpus *c, const char *ref_name,
                     int add_bos, int roundtrip, int skip_special_text)
{
    refs r = load_refs(ref_name);
    CHECK_EQ_INT(r.rows, c->n);
    size_t compared = 0, matched = 0, rt_checked = 0, rt_ok = 0, shown = 0;
    for (size_t i = 0; i < c->n && i < r.rows; i++) {
        int32_t *ids = NULL;
        size_t n = 0;
        rlae_status s = rlae_tokenizer_encode(tok, c->line[i], c->len[i], add_bos, &ids, &n);
        CHECK_MSG(s == RLAE_OK, "%s line %zu: %s", what, i + 1, rlae_last_error());
        if (s != RLAE_OK)
            continue;
        int skip = (skip_special_text || roundtrip == RT_NO_SPECIAL_TEXT) && (contains(c->line[i], c->len[i], "<s>") ||
                                         contains(c->line[i], c->len[i], "</s>") ||
                                         contains(c->line[i], c->len[i], "<unk>"));
        if (r.ids[i] && !(skip && skip_special_text)) {
            compared++;
            int same = n == r.n[i] && memcmp(ids, r.ids[i], n * sizeof *ids) == 0;
            matched += same;
            if (!same && shown++ < 3) {
                fprintf(stderr, "%s line %zu differs:\n  got ", what, i + 1);
                for (size_t k = 0; k < n && k < 40; k++)
                    fprintf(stderr, "%d ", ids[k]);
                fprintf(stderr, "\n  ref ");
                for (size_t k = 0; k < r.n[i] && k < 40; k++)
                    fprintf(stderr, "%d ", r.ids[i][k]);
                fprintf(stderr, "\n");
            }
        }
        int want_rt = roundtrip == RT_ALL || (roundtrip == RT_NO_SPECIAL_TEXT && !skip) ||
                      (roundtrip == RT_L2C && !contains(c->line[i], c->len[i], "<0x") &&
                       !contains(c->line[i], c->len[i], "<s>") && !contains(c->line[i], c->len[i], "</s>"));
        if (want_rt) {
            char *back = NULL;
            size_t blen = 0;
            rt_checked++;
            /* llama2.c: BOS is special and not text; tokenizer.json: special tokens split out of
             * the text are spelled back. */
            int skip_sp = rlae_tokenizer_get_kind(tok) == RLAE_TOKENIZER_LLAMA2C;
            if (rlae_tokenizer_decode(tok, ids, n, skip_sp, &back, &blen) == RLAE_OK && blen == c->len[i] &&
                memcmp(back, c->line[i], blen) == 0)
                rt_ok++;
            else if (shown++ < 6)
                fprintf(stderr, "%s line %zu: decode(encode(x)) != x (%zu vs %zu bytes)\n", what, i + 1,
                        blen, c->len[i]);
            free(back);
        }
        free(ids);
    }
    printf("%s: ids equal the reference on %zu of %zu lines; round trip exact on %zu of %zu\n", what,
           matched, compared, rt_ok, rt_checked);
    CHECK_MSG(compared > 0 && matched == compared, "%s: %zu of %zu lines differ", what, compared - matched,
              compared);
    CHECK_MSG(rt_ok == rt_checked, "%s: %zu round trips failed", what, rt_checked - rt_ok);
    free_refs(&r);
}

/* A fixture tokenizer.json with its normalizer and pre_tokenizer replaced (JSON texts). */
static rlae_tokenizer *load_variant(const char *fixture, const char *norm, const char *pre, const char *name)
{
    json_error_t jerr;
    json_t *j = json_load_file(test_fixture_path(fixture), 0, &jerr);
    json_t *n = json_loads(norm, JSON_DECODE_ANY, &jerr), *p = json_loads(pre, JSON_DECODE_ANY, &jerr);
    CHECK(j && n && p);
    if (!j || !n || !p)
        return NULL;
    json_object_set_new(j, "normalizer", n);
    json_object_set_new(j, "pre_tokenizer", p);
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    rlae_tokenizer *t = NULL;
    rlae_status s = rlae_tokenizer_load_json_mem(text, strlen(text), name, &t);
    CHECK_MSG(s == RLAE_OK, "%s: %s", name, rlae_last_error());
    free(text);
    return t;
}

static rlae_tokenizer *load(const char *path)
{
    rlae_tokenizer *t = NULL;
    rlae_status s = rlae_tokenizer_load(path, &t);
    CHECK_MSG(s == RLAE_OK, "load %s: %s", path, rlae_last_error());
    return t;
}

int main(void)
{
    corpus c = load_corpus();
    CHECK(c.n >= 2000);
    rlae_tokenizer *t;

    /* llama2.c tokenizer.bin (needs ../shared) */
    const char *shared = getenv("RLAE_SHARED_DIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", shared && *shared ? shared : RLAE_SOURCE_DIR "/../shared");
    struct stat st;
    if (stat(dir, &st) == 0) {
        static const struct {
            const char *what, *rel, *ref;
            int rt;
        } l2c[] = {
            {"llama2.c stories260K tok512.bin", "models/stories260K/tok512.bin", "tokenizers/ref_l2c_tok512.txt", RT_L2C},
            {"llama2.c babyllama105 tok105.bin", "models/babyllama105/tok105.bin", "tokenizers/ref_l2c_tok105.txt", RT_NONE},
            {"llama2.c Llama 2 tokenizer.bin", "tokenizers/llama2/tokenizer.bin", "tokenizers/ref_l2c_llama2.txt", RT_L2C},
        };
        for (size_t k = 0; k < sizeof l2c / sizeof l2c[0]; k++) {
            char path[8192];
            snprintf(path, sizeof path, "%s/%s", dir, l2c[k].rel);
            if ((t = load(path)) != NULL) {
                run_case(l2c[k].what, t, &c, l2c[k].ref, 1, l2c[k].rt, 0);
                rlae_tokenizer_free(t);
            }
        }
    } else {
        printf("note: %s not found, llama2.c tokenizer.bin cases skipped\n", dir);
    }

    /* tokenizer.json fixtures (committed) */
    if ((t = load(test_fixture_path("tokenizers/gpt2/tokenizer.json"))) != NULL) {
        run_case("GPT-2 tokenizer.json vs HF tokenizers", t, &c, "tokenizers/ref_gpt2.txt", 0, RT_ALL, 0);
        rlae_tokenizer_free(t);
    }
    if ((t = load(test_fixture_path("tokenizers/llama2/tokenizer.json"))) != NULL) {
        /* HF's legacy layout prepends "▁" to every segment between special tokens, so text that
         * spells "<s>" does not round-trip; every other line must. */
        run_case("Llama 2 tokenizer.json vs HF tokenizers", t, &c, "tokenizers/ref_llama2_hf.txt", 0,
                 RT_NO_SPECIAL_TEXT, 0);
        run_case("Llama 2 tokenizer.json vs sentencepiece", t, &c, "tokenizers/ref_llama2_sp.txt", 0, RT_NONE, 1);
        rlae_tokenizer_free(t);
    }
    /* The same vocabulary in transformers' non-legacy layout: no normalizer, a Metaspace
     * pre-tokenizer with prepend_scheme "first" (made here from the legacy file, as the script does). */
    if ((t = load_variant("tokenizers/llama2/tokenizer.json", "null",
                          "{\"type\":\"Metaspace\",\"replacement\":\"\u2581\",\"prepend_scheme\":\"first\","
                          "\"split\":false}", "llama2-metaspace.json")) != NULL) {
        run_case("Llama 2 tokenizer.json (Metaspace layout) vs HF tokenizers", t, &c,
                 "tokenizers/ref_llama2_meta_hf.txt", 0, RT_NONE, 0);
        rlae_tokenizer_free(t);
    }
    /* Llama-3's and Qwen2's pre-tokenizers (Split regex + ByteLevel without regex; Qwen2 with NFC)
     * over the GPT-2 vocabulary. */
    static const char *split_fmt = "{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Split\","
                                   "\"pattern\":{\"Regex\":\"%s\"},\"behavior\":\"Isolated\",\"invert\":false},"
                                   "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,"
                                   "\"use_regex\":false}]}";
    static const char *llama3_re =
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}{1,3}| "
        "?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+";
    static const char *qwen2_re =
        "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?\\\\p{L}+|\\\\p{N}| "
        "?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|\\\\s+(?!\\\\S)|\\\\s+";
    char pre[2048];
    snprintf(pre, sizeof pre, split_fmt, llama3_re);
    if ((t = load_variant("tokenizers/gpt2/tokenizer.json", "null", pre, "gpt2-llama3-split.json")) != NULL) {
        run_case("Llama-3 split regex (GPT-2 vocab) vs HF tokenizers", t, &c, "tokenizers/ref_gpt2_llama3.txt", 0,
                 RT_ALL, 0);
        rlae_tokenizer_free(t);
    }
    snprintf(pre, sizeof pre, split_fmt, qwen2_re);
    if ((t = load_variant("tokenizers/gpt2/tokenizer.json", "{\"type\":\"NFC\"}", pre, "gpt2-qwen2-nfc.json")) !=
        NULL) {
        run_case("Qwen2 split regex + NFC (GPT-2 vocab) vs HF tokenizers", t, &c, "tokenizers/ref_gpt2_qwen2.txt",
                 0, RT_NONE, 0);
        rlae_tokenizer_free(t);
    }
    free_corpus(&c);
    return test_summary("test_tokenizer_corpus");
}
