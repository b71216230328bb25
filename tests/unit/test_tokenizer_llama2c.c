/* llama2.c tokenizer.bin: loading (vocab size from the layout, truncation errors), token bytes,
 * run.c's encode rules on a hand-made vocabulary, and run.c's decode conventions. The real files in
 * ../shared are checked against a run.c port over a whole corpus in test_tokenizer_corpus. */
#include "test.h"
#include "tokenizer/tokenizer.h"

#include <stdint.h>
#include <unistd.h>

static void put_token(FILE *f, float score, const char *s)
{
    int32_t n = (int32_t)strlen(s);
    fwrite(&score, 4, 1, f);
    fwrite(&n, 4, 1, f);
    fwrite(s, 1, (size_t)n, f);
}

/* <unk>, BOS, EOS, 256 byte pieces, then " ", "a", "b", "ab", " ab", "é", " a". */
static void write_tiny(const char *path, int truncate_last)
{
    FILE *f = fopen(path, "wb");
    int32_t mtl = 8;
    fwrite(&mtl, 4, 1, f);
    put_token(f, 0, "<unk>");
    put_token(f, 0, "\n<s>\n");
    put_token(f, 0, "\n</s>\n");
    for (int b = 0; b < 256; b++) {
        char p[8];
        snprintf(p, sizeof p, "<0x%02X>", b);
        put_token(f, 0, p);
    }
    put_token(f, -1, " ");     /* 259 */
    put_token(f, -2, "a");     /* 260 */
    put_token(f, -3, "b");     /* 261 */
    put_token(f, -10, "ab");   /* 262 */
    put_token(f, -5, " ab");   /* 263: beats " a" once "ab" exists... but "ab" must form first */
    put_token(f, -4, "\xc3\xa9"); /* 264 "é" */
    put_token(f, -20, " a");   /* 265 */
    if (truncate_last) {
        float s = 0;
        int32_t n = 5;
        fwrite(&s, 4, 1, f);
        fwrite(&n, 4, 1, f);
        fwrite("ab", 1, 2, f); /* 3 bytes short */
    }
    fclose(f);
}

static void check_ids(rlae_tokenizer *t, const char *text, int bos, const int32_t *want, size_t nw)
{
    int32_t *ids = NULL;
    size_t n = 0;
    CHECK(rlae_tokenizer_encode(t, text, strlen(text), bos, &ids, &n) == RLAE_OK);
    int same = n == nw && memcmp(ids, want, n * sizeof *ids) == 0;
    CHECK_MSG(same, "encode(\"%s\") gave %zu ids, first %d", text, n, n ? ids[0] : -1);
    free(ids);
}

int main(void)
{
    char path[] = "/tmp/rlae_tok_l2c_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    write_tiny(path, 0);
    rlae_tokenizer *t = NULL;
    CHECK(rlae_tokenizer_load(path, &t) == RLAE_OK);
    if (t) {
        CHECK_EQ_INT(rlae_tokenizer_vocab_size(t), 266);
        CHECK_EQ_INT(rlae_tokenizer_get_kind(t), RLAE_TOKENIZER_LLAMA2C);
        CHECK_EQ_INT(rlae_tokenizer_bos_id(t), 1);
        CHECK_EQ_INT(rlae_tokenizer_eos_id(t), 2);
        CHECK(rlae_tokenizer_default_add_bos(t));
        CHECK_EQ_INT(rlae_tokenizer_is_special(t, 0), 1);
        CHECK_EQ_INT(rlae_tokenizer_is_special(t, 1), 1);
        CHECK_EQ_INT(rlae_tokenizer_is_special(t, 260), 0);
        CHECK_EQ_INT(rlae_tokenizer_is_special(t, 266), -1);
        size_t len;
        const uint8_t *b = rlae_tokenizer_token_bytes(t, 3 + '\n', &len);
        CHECK(len == 1 && b[0] == '\n');
        b = rlae_tokenizer_token_bytes(t, 3 + 0xff, &len);
        CHECK(len == 1 && b[0] == 0xff);
        b = rlae_tokenizer_token_bytes(t, 263, &len);
        CHECK(len == 3 && memcmp(b, " ab", 3) == 0);
        CHECK_EQ_STR(rlae_tokenizer_token_text(t, 3 + '\n'), "<0x0A>");
        CHECK_EQ_INT(rlae_tokenizer_token_id(t, " ab"), 263);

        /* BOS, dummy " ", then "a","b" merge to "ab" (score -10 beats " a" at -20? no: " a" is
         * -20, "ab" -10: "ab" first), then " " + "ab" -> " ab" (-5). */
        check_ids(t, "ab", 1, (const int32_t[]){1, 263}, 2);
        check_ids(t, "ab", 0, (const int32_t[]){263}, 1);
        /* "é" is a piece; "ü" is not: byte fallback 0xC3 0xBC -> ids byte + 3. */
        check_ids(t, "\xc3\xa9\xc3\xbc", 1, (const int32_t[]){1, 259, 264, 0xc3 + 3, 0xbc + 3}, 5);
        /* Empty text: BOS only, no dummy prefix. */
        check_ids(t, "", 1, (const int32_t[]){1}, 1);
        /* Invalid UTF-8: a lone continuation byte is its own group and falls back to its byte. */
        check_ids(t, "\x80" "a", 0, (const int32_t[]){259, 0x80 + 3, 260}, 3);

        /* run.c decode: after BOS strip one leading space; <0xXX> is the raw byte. */
        const uint8_t *p = rlae_tokenizer_decode_piece(t, 1, 263, &len);
        CHECK(len == 2 && memcmp(p, "ab", 2) == 0);
        p = rlae_tokenizer_decode_piece(t, 260, 263, &len);
        CHECK(len == 3 && memcmp(p, " ab", 3) == 0);
        p = rlae_tokenizer_decode_piece(t, 1, 3 + 'A', &len);
        CHECK(len == 1 && p[0] == 'A');
        int32_t ids[] = {1, 263, 3 + 0xff, 2};
        char *out = NULL;
        size_t olen = 0;
        CHECK(rlae_tokenizer_decode(t, ids, 4, 1, &out, &olen) == RLAE_OK);
        CHECK(olen == 3 && memcmp(out, "ab\xff", 3) == 0);
        free(out);
        CHECK(rlae_tokenizer_decode(t, ids, 4, 0, &out, &olen) == RLAE_OK);
        CHECK(olen == 5 + 3 + 6 && memcmp(out, "\n<s>\nab\xff\n</s>\n", olen) == 0);
        free(out);
        int32_t bad[] = {266};
        CHECK(rlae_tokenizer_decode(t, bad, 1, 0, &out, &olen) == RLAE_ERR_INPUT);
        rlae_tokenizer_free(t);
    }

    /* A record cut short is an error naming the file. */
    write_tiny(path, 1);
    t = NULL;
    CHECK(rlae_tokenizer_load(path, &t) == RLAE_ERR_INPUT);
    CHECK(t == NULL);
    CHECK(strstr(rlae_last_error(), path) != NULL);
    CHECK(strstr(rlae_last_error(), "truncated") != NULL);
    /* A header alone / an empty file. */
    FILE *f = fopen(path, "wb");
    fclose(f);
    CHECK(rlae_tokenizer_load(path, &t) == RLAE_ERR_INPUT);
    /* A missing file. */
    CHECK(rlae_tokenizer_load("/nonexistent/tokenizer.bin", &t) == RLAE_ERR_INPUT);
    unlink(path);

    /* The real files of ../shared: known pieces (skips when ../shared is absent). */
    const char *l2 = test_shared_path("tokenizers/llama2/tokenizer.bin");
    CHECK(rlae_tokenizer_load(l2, &t) == RLAE_OK);
    if (t) {
        CHECK_EQ_INT(rlae_tokenizer_vocab_size(t), 32000);
        size_t len;
        int id = rlae_tokenizer_token_id(t, " the");
        CHECK(id > 0);
        const uint8_t *b = rlae_tokenizer_token_bytes(t, id, &len);
        CHECK(len == 4 && memcmp(b, " the", 4) == 0);
        b = rlae_tokenizer_token_bytes(t, 13, &len); /* <0x0A> */
        CHECK(len == 1 && b[0] == '\n');
        int32_t *ids = NULL;
        size_t n = 0;
        CHECK(rlae_tokenizer_encode(t, "Hello world", 11, 1, &ids, &n) == RLAE_OK);
        /* sentencepiece: [1, 15043, 3186] */
        CHECK(n == 3 && ids[0] == 1 && ids[1] == 15043 && ids[2] == 3186);
        free(ids);
        rlae_tokenizer_free(t);
    }
    return test_summary("test_tokenizer_llama2c");
}
