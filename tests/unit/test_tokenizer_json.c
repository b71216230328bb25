/* tokenizer.json: exact token bytes (GPT-2 byte alphabet, SentencePiece "▁" and <0xXX>), special
 * tokens and bos/eos/add_bos from tokenizer_config.json and the post-processor, added-token options,
 * decode, and every kind of malformed or unsupported file giving RLAE_ERR_INPUT with the file and
 * the JSON path named. Ids over a whole corpus are checked in test_tokenizer_corpus. */
#include "test.h"
#include "tokenizer/tokenizer.h"

#include <stdint.h>

static int bytes_are(const rlae_tokenizer *t, int id, const char *want, size_t n)
{
    size_t len;
    const uint8_t *b = rlae_tokenizer_token_bytes(t, id, &len);
    return b && len == n && memcmp(b, want, n) == 0;
}

static size_t enc(const rlae_tokenizer *t, const char *s, int bos, int32_t *out, size_t cap)
{
    int32_t *ids = NULL;
    size_t n = 0;
    rlae_status st = rlae_tokenizer_encode(t, s, strlen(s), bos, &ids, &n);
    CHECK_MSG(st == RLAE_OK, "encode: %s", rlae_last_error());
    for (size_t i = 0; i < n && i < cap; i++)
        out[i] = ids[i];
    free(ids);
    return n;
}

/* A minimal byte-level BPE over a few tokens, with placeholders for the parts a case changes. */
static char *tiny_json(const char *pre, const char *merges, const char *added, const char *model_type)
{
    const char *fmt =
        "{\"added_tokens\":%s,\"normalizer\":null,\"pre_tokenizer\":%s,\"decoder\":{\"type\":\"ByteLevel\"},"
        "\"model\":{\"type\":\"%s\",\"vocab\":{\"a\":0,\"b\":1,\"ab\":2,\"\\u0120\":3,\"\\u0120ab\":4,"
        "\"<x>\":5},\"merges\":%s}}";
    size_t n = strlen(fmt) + strlen(pre) + strlen(merges) + strlen(added) + strlen(model_type) + 1;
    char *s = malloc(n);
    snprintf(s, n, fmt, added, pre, model_type, merges);
    return s;
}

static void expect_error(const char *json, const char *name, const char *needle)
{
    rlae_tokenizer *t = NULL;
    rlae_status s = rlae_tokenizer_load_json_mem(json, strlen(json), name, &t);
    CHECK_MSG(s == RLAE_ERR_INPUT, "%s: expected RLAE_ERR_INPUT, got %d", name, (int)s);
    CHECK(t == NULL);
    CHECK_MSG(strstr(rlae_last_error(), name) != NULL, "%s: error does not name the file: %s", name,
              rlae_last_error());
    CHECK_MSG(strstr(rlae_last_error(), needle) != NULL, "%s: error lacks \"%s\": %s", name, needle,
              rlae_last_error());
    rlae_tokenizer_free(t);
}

int main(void)
{
    rlae_tokenizer *t = NULL;
    int32_t ids[64];

    /* GPT-2 (fixture built by tokenizers from the original files) */
    CHECK(rlae_tokenizer_load(test_fixture_path("tokenizers/gpt2/tokenizer.json"), &t) == RLAE_OK);
    if (t) {
        CHECK_EQ_INT(rlae_tokenizer_get_kind(t), RLAE_TOKENIZER_HF_BYTELEVEL);
        CHECK_EQ_INT(rlae_tokenizer_vocab_size(t), 50257);
        int the = rlae_tokenizer_token_id(t, "\xc4\xa0the"); /* "Ġthe" */
        CHECK_EQ_INT(the, 262);
        CHECK(bytes_are(t, the, " the", 4));
        CHECK(bytes_are(t, rlae_tokenizer_token_id(t, "\xc4\x8a"), "\n", 1)); /* "Ċ" */
        CHECK(bytes_are(t, rlae_tokenizer_token_id(t, "\xc3\xbf"), "\xff", 1)); /* "ÿ" is byte 0xFF */
        CHECK(bytes_are(t, rlae_tokenizer_token_id(t, "\xc4\x80"), "\x00", 1)); /* "Ā" is byte 0x00 */
        CHECK_EQ_INT(rlae_tokenizer_eos_id(t), 50256);
        CHECK_EQ_INT(rlae_tokenizer_is_special(t, 50256), 1);
        CHECK_EQ_INT(rlae_tokenizer_is_special(t, the), 0);
        CHECK_EQ_INT(rlae_tokenizer_bos_id(t), -1);
        CHECK(!rlae_tokenizer_default_add_bos(t));
        /* "The" " quick" ... and the special token split out of the text */
        size_t n = enc(t, "The<|endoftext|> quick", 0, ids, 64);
        CHECK(n == 3 && ids[0] == 464 && ids[1] == 50256 && ids[2] == 2068);
        /* Invalid UTF-8 encodes and comes back exactly. */
        const char *bad = "a\xff\xfe b\xc3";
        int32_t *v = NULL;
        size_t nv = 0;
        char *back = NULL;
        size_t blen = 0;
        CHECK(rlae_tokenizer_encode(t, bad, strlen(bad), 0, &v, &nv) == RLAE_OK);
        CHECK(rlae_tokenizer_decode(t, v, nv, 0, &back, &blen) == RLAE_OK);
        CHECK(blen == strlen(bad) && memcmp(back, bad, blen) == 0);
        free(v);
        free(back);
        rlae_tokenizer_free(t);
    }

    /* Llama 2 tokenizer.json (SentencePiece style) with tokenizer_config.json beside it; loaded
     * through its directory. */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", test_fixture_path("tokenizers/llama2"));
    CHECK(rlae_tokenizer_load(dir, &t) == RLAE_OK);
    if (t) {
        CHECK_EQ_INT(rlae_tokenizer_get_kind(t), RLAE_TOKENIZER_HF_SPM);
        CHECK_EQ_INT(rlae_tokenizer_vocab_size(t), 32000);
        CHECK_EQ_INT(rlae_tokenizer_bos_id(t), 1);
        CHECK_EQ_INT(rlae_tokenizer_eos_id(t), 2);
        CHECK(rlae_tokenizer_default_add_bos(t));
        CHECK(bytes_are(t, 13, "\n", 1)); /* <0x0A> */
        CHECK_EQ_STR(rlae_tokenizer_token_text(t, 13), "<0x0A>");
        CHECK(bytes_are(t, rlae_tokenizer_token_id(t, "\xe2\x96\x81the"), " the", 4)); /* "▁the" */
        CHECK(bytes_are(t, 1, "<s>", 3));
        CHECK_EQ_INT(rlae_tokenizer_is_special(t, 1), 1);
        CHECK_EQ_INT(rlae_tokenizer_is_special(t, 13), 0);
        /* sentencepiece: "Hello world" -> [1, 15043, 3186] */
        size_t n = enc(t, "Hello world", 1, ids, 64);
        CHECK(n == 3 && ids[0] == 1 && ids[1] == 15043 && ids[2] == 3186);
        char *out = NULL;
        size_t olen = 0;
        CHECK(rlae_tokenizer_decode(t, ids, n, 1, &out, &olen) == RLAE_OK);
        CHECK(olen == 11 && memcmp(out, "Hello world", 11) == 0);
        free(out);
        size_t len;
        const uint8_t *p = rlae_tokenizer_decode_piece(t, 1, ids[1], &len);
        CHECK(len == 5 && memcmp(p, "Hello", 5) == 0);
        /* Byte fallback for a character outside the vocabulary. */
        n = enc(t, "\xf0\x9f\xa6\x80", 0, ids, 64); /* 🦀 */
        CHECK(n == 5 && ids[0] == 29871 && ids[1] == 0xf0 + 3 && ids[4] == 0x80 + 3);
        rlae_tokenizer_free(t);
    }

    /* Added-token options on a tiny byte-level model. */
    char *j = tiny_json("{\"type\":\"ByteLevel\",\"add_prefix_space\":false}", "[\"a b\",[\"\\u0120\",\"ab\"]]",
                        "[{\"id\":5,\"content\":\"<x>\",\"special\":true,\"lstrip\":true,\"rstrip\":false,"
                        "\"single_word\":false,\"normalized\":false},"
                        "{\"id\":6,\"content\":\"bb\",\"special\":false,\"single_word\":true,\"normalized\":true}]",
                        "BPE");
    CHECK(rlae_tokenizer_load_json_mem(j, strlen(j), "tiny.json", &t) == RLAE_OK);
    free(j);
    if (t) {
        CHECK_EQ_INT(rlae_tokenizer_vocab_size(t), 7);
        size_t n = enc(t, "ab ab", 0, ids, 64);
        CHECK(n == 2 && ids[0] == 2 && ids[1] == 4);
        /* lstrip: the spaces before <x> belong to it */
        n = enc(t, "ab  <x>ab", 0, ids, 64);
        CHECK(n == 3 && ids[0] == 2 && ids[1] == 5 && ids[2] == 2);
        /* single_word: "bb" inside a word is not the added token */
        n = enc(t, "abb", 0, ids, 64);
        CHECK(n == 2 && ids[0] == 2 && ids[1] == 1);
        n = enc(t, "a bb", 0, ids, 64);
        CHECK(n == 3 && ids[0] == 0 && ids[1] == 3 && ids[2] == 6);
        rlae_tokenizer_free(t);
    }

    /* Malformed and unsupported files: RLAE_ERR_INPUT naming the file and what is wrong. */
    expect_error("{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0", "truncated.json", "not valid JSON");
    expect_error("{\"version\": \"1.0\"}", "nomodel.json", "model");
    expect_error("[]", "array.json", "(root)");
    j = tiny_json("null", "[\"a zz\"]", "[]", "BPE");
    expect_error(j, "badmerge.json", "model.merges[0]");
    free(j);
    j = tiny_json("null", "[\"a\"]", "[]", "BPE");
    expect_error(j, "badmerge2.json", "model.merges[0]");
    free(j);
    j = tiny_json("{\"type\":\"Whitespace\"}", "[]", "[]", "BPE");
    expect_error(j, "whitespace.json", "Whitespace");
    free(j);
    j = tiny_json("{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Punctuation\"}]}", "[]", "[]", "BPE");
    expect_error(j, "punct.json", "pre_tokenizer.pretokenizers[0]");
    free(j);
    j = tiny_json("null", "[]", "[]", "WordPiece");
    expect_error(j, "wordpiece.json", "WordPiece");
    free(j);
    j = tiny_json("{\"type\":\"Split\",\"pattern\":{\"Regex\":\"(unclosed\"},\"behavior\":\"Isolated\"}", "[]", "[]",
                  "BPE");
    expect_error(j, "badregex.json", "pre_tokenizer.pattern");
    free(j);
    j = tiny_json("{\"type\":\"Split\",\"pattern\":{\"Regex\":\"a\"},\"behavior\":\"Sideways\"}", "[]", "[]", "BPE");
    expect_error(j, "badbehavior.json", "Sideways");
    free(j);
    j = tiny_json("null", "[]", "[{\"id\":\"five\",\"content\":\"<x>\"}]", "BPE");
    expect_error(j, "badadded.json", "added_tokens[0].id");
    free(j);
    expect_error("{\"normalizer\":{\"type\":\"Lowercase\"},\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},"
                 "\"merges\":[]}}",
                 "lower.json", "normalizer");
    expect_error("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":-1},\"merges\":[]}}", "negid.json", "model.vocab");
    expect_error("{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[],\"unk_token\":\"<unk>\"}}",
                 "unk.json", "model.unk_token");
    CHECK(rlae_tokenizer_load("/nonexistent/dir/tokenizer.json", &t) == RLAE_ERR_INPUT);
    return test_summary("test_tokenizer_json");
}
