/* safetensors parsing: valid F32/F16/BF16 files round-trip their values; every kind of corruption is
 * RLAE_ERR_INPUT with a message naming the file and (where one is involved) the tensor; sharded
 * checkpoints resolve names across shards and name a missing shard and its index.
 * The files are built byte by byte here, so each corruption is exactly the one under test. */
#include "test.h"

#include <unistd.h>

#include "model/safetensors.h"

static char g_dir[64];

/* Writes 8-byte LE header length + header + data to g_dir/name; returns the path (static buffer). */
static const char *write_st(const char *name, const char *header, const void *data, size_t data_len,
                            size_t truncate_to)
{
    static char path[8][256];
    static int next;
    char *p = path[next++ % 8];
    snprintf(p, 256, "%s/%s", g_dir, name);
    size_t n = strlen(header), total = 8 + n + data_len;
    unsigned char *buf = malloc(total);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)n >> (8 * i));
    memcpy(buf + 8, header, n);
    if (data_len)
        memcpy(buf + 8 + n, data, data_len);
    if (truncate_to && truncate_to < total)
        total = truncate_to;
    FILE *f = fopen(p, "wb");
    fwrite(buf, 1, total, f);
    fclose(f);
    free(buf);
    return p;
}

/* Data for the valid file: a F32 [2,3], b F16 [4], c BF16 [2,2]; all values exact in their dtype. */
static const float a_vals[6] = {1.5f, -2.25f, 0.0f, 3.0f, 1024.0f, -0.125f};
static const float b_vals[4] = {0.5f, -1.0f, 65504.0f, 6.103515625e-05f};
static const float c_vals[4] = {1.0f, -3.5f, 2.0f, 1.0e20f};
static unsigned char g_data[40];
static unsigned char g_zeros[8192];

static void make_data(void)
{
    memcpy(g_data, a_vals, 24);
    for (int i = 0; i < 4; i++) {
        uint16_t h = rlae_f32_to_f16(b_vals[i]);
        g_data[24 + 2 * i] = (unsigned char)h;
        g_data[24 + 2 * i + 1] = (unsigned char)(h >> 8);
        uint16_t bf = rlae_f32_to_bf16(c_vals[i]);
        g_data[32 + 2 * i] = (unsigned char)bf;
        g_data[32 + 2 * i + 1] = (unsigned char)(bf >> 8);
    }
}

#define VALID_HEADER                                                                                   \
    "{\"__metadata__\":{\"format\":\"pt\"},"                                                          \
    "\"c\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[32,40]},"                             \
    "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"                               \
    "\"b\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[24,32]},"                                \
    "\"empty\":{\"dtype\":\"F32\",\"shape\":[0,5],\"data_offsets\":[40,40]}}"

static void test_valid(void)
{
    const char *p = write_st("valid.safetensors", VALID_HEADER "  ", g_data, sizeof g_data, 0);
    rlae_safetensors *st = NULL;
    rlae_status s = rlae_safetensors_open(p, &st);
    CHECK_MSG(s == RLAE_OK, "%s", rlae_last_error());
    if (!st)
        return;
    CHECK_EQ_INT(rlae_safetensors_count(st), 4);
    CHECK_EQ_STR(rlae_safetensors_at(st, 0)->name, "a"); /* name order */
    CHECK_EQ_STR(rlae_safetensors_at(st, 3)->name, "empty");
    CHECK(rlae_safetensors_at(st, 4) == NULL);
    CHECK(rlae_safetensors_find(st, "nope") == NULL);
    CHECK_EQ_STR(rlae_safetensors_metadata(st, "format"), "pt");
    CHECK(rlae_safetensors_metadata(st, "other") == NULL);

    const rlae_st_tensor *a = rlae_safetensors_find(st, "a");
    CHECK(a && a->dtype == RLAE_ST_F32 && a->ndim == 2 && a->shape[0] == 2 && a->shape[1] == 3 && a->numel == 6);
    rlae_tensor t;
    CHECK(rlae_st_to_f32(a, &t) == RLAE_OK);
    CHECK(t.owned && t.dtype == RLAE_F32 && t.ndim == 2 && t.shape[1] == 3);
    for (int i = 0; i < 6; i++)
        CHECK_NEAR(((float *)t.data)[i], a_vals[i], 0);
    rlae_tensor_free(&t);

    const rlae_st_tensor *b = rlae_safetensors_find(st, "b");
    CHECK(rlae_st_to_f32(b, &t) == RLAE_OK);
    for (int i = 0; i < 4; i++)
        CHECK_NEAR(((float *)t.data)[i], b_vals[i], 0);
    rlae_tensor_free(&t);

    const rlae_st_tensor *c = rlae_safetensors_find(st, "c");
    CHECK(rlae_st_to_f32(c, &t) == RLAE_OK);
    for (int i = 0; i < 4; i++)
        CHECK_NEAR(((float *)t.data)[i], rlae_bf16_to_f32(rlae_f32_to_bf16(c_vals[i])), 0);
    CHECK_NEAR(((float *)t.data)[1], -3.5, 0);
    rlae_tensor_free(&t);

    /* A typed view points into the mapping without copying. */
    rlae_tensor v;
    CHECK(rlae_st_view(c, &v) == RLAE_OK);
    CHECK(v.dtype == RLAE_BF16 && !v.owned && v.data == c->data && v.shape[0] == 2);

    const rlae_st_tensor *e = rlae_safetensors_find(st, "empty");
    CHECK(e && e->numel == 0 && e->nbytes == 0);
    CHECK(rlae_st_to_f32(e, &t) == RLAE_OK && t.shape[0] == 0 && t.shape[1] == 5);
    rlae_tensor_free(&t);
    rlae_safetensors_close(st);

    /* The same bytes from memory (the fuzz target's path) give the same result. */
    FILE *f = fopen(p, "rb");
    unsigned char buf[1024];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    CHECK(rlae_safetensors_open_memory(buf, n, "mem.safetensors", &st) == RLAE_OK);
    CHECK(st && rlae_safetensors_count(st) == 4);
    rlae_safetensors_close(st);
}

/* Opens a corrupt file and checks the status and that the message names the file and tensor. */
static void expect_corrupt(const char *file, const char *header, size_t data_len, size_t truncate_to,
                           const char *tensor, const char *phrase)
{
    const char *p = write_st(file, header, data_len > sizeof g_data ? g_zeros : g_data, data_len, truncate_to);
    rlae_safetensors *st = (rlae_safetensors *)1;
    rlae_clear_error();
    rlae_status s = rlae_safetensors_open(p, &st);
    const char *msg = rlae_last_error();
    if (getenv("RLAE_TEST_VERBOSE")) /* to read the messages a user would see */
        printf("  %s\n", msg);
    CHECK_MSG(s == RLAE_ERR_INPUT, "%s: status %s, message \"%s\"", file, rlae_status_name(s), msg);
    CHECK(st == NULL);
    CHECK_MSG(strstr(msg, file) != NULL, "%s: message does not name the file: %s", file, msg);
    if (tensor) {
        char q[128];
        snprintf(q, sizeof q, "'%s'", tensor);
        CHECK_MSG(strstr(msg, q) != NULL, "%s: message does not name tensor %s: %s", file, tensor, msg);
    }
    if (phrase)
        CHECK_MSG(strstr(msg, phrase) != NULL, "%s: message lacks \"%s\": %s", file, phrase, msg);
}

#define ENTRY(name, dtype, shape, offs) "\"" name "\":{\"dtype\":\"" dtype "\",\"shape\":" shape ",\"data_offsets\":" offs "}"

static void test_corrupt(void)
{
    const char *valid_len_hdr = "{" ENTRY("w.q_proj", "F32", "[2,3]", "[0,24]") "}";
    size_t hl = strlen(valid_len_hdr);
    /* Truncated in the data section: the tensor's range no longer fits. */
    expect_corrupt("truncated.safetensors", valid_len_hdr, 24, 8 + hl + 20, "w.q_proj", "past the data section");
    /* Truncated inside the header: the length prefix points past the end. */
    expect_corrupt("trunc_header.safetensors", valid_len_hdr, 24, 8 + hl / 2, NULL, "past the end of the file");
    expect_corrupt("tiny.safetensors", valid_len_hdr, 0, 5, NULL, "too short");
    /* Header length absurdly large (file is big enough to hold only a little). */
    {
        char p[256];
        snprintf(p, sizeof p, "%s/hugelen.safetensors", g_dir);
        unsigned char b[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'};
        FILE *f = fopen(p, "wb");
        fwrite(b, 1, sizeof b, f);
        fclose(f);
        rlae_safetensors *st;
        CHECK(rlae_safetensors_open(p, &st) == RLAE_ERR_INPUT);
        CHECK(strstr(rlae_last_error(), "hugelen.safetensors") != NULL);
    }
    expect_corrupt("offsets_out.safetensors", "{" ENTRY("w.k_proj", "F32", "[2,3]", "[16,40]") "}", 24, 0,
                   "w.k_proj", "past the data section");
    expect_corrupt("offsets_order.safetensors", "{" ENTRY("w.k_proj", "F32", "[0]", "[24,0]") "}", 24, 0, "w.k_proj",
                   "out of order");
    expect_corrupt("overlap.safetensors",
                   "{" ENTRY("w.a", "F32", "[6]", "[0,24]") "," ENTRY("w.b", "F32", "[2]", "[16,24]") "}", 24, 0,
                   "w.b", "overlap");
    expect_corrupt("mismatch.safetensors",
                   "{" ENTRY("model.layers.0.self_attn.q_proj.weight", "BF16", "[64,64]", "[0,8190]") "}", 8190, 0,
                   "model.layers.0.self_attn.q_proj.weight",
                   "shape [64, 64] x BF16 = 8192 bytes but data_offsets span 8190 bytes; the file is corrupt");
    expect_corrupt("mismatch2.safetensors", "{" ENTRY("w.v", "F32", "[2,3]", "[0,20]") "}", 24, 0, "w.v",
                   "[2, 3] x F32 = 24 bytes but data_offsets span 20 bytes");
    expect_corrupt("dtype.safetensors", "{" ENTRY("w.o", "F128", "[2]", "[0,8]") "}", 24, 0, "w.o",
                   "unknown dtype");
    expect_corrupt("malformed.safetensors", "{\"w\":{\"dtype\":\"F32\",", 24, 0, NULL, "malformed");
    expect_corrupt("notobj.safetensors", "[1,2,3]", 24, 0, NULL, "not start with a JSON object");
    expect_corrupt("negative.safetensors", "{" ENTRY("w.neg", "F32", "[-1,3]", "[0,24]") "}", 24, 0, "w.neg",
                   "non-negative");
    expect_corrupt("realshape.safetensors", "{" ENTRY("w.r", "F32", "[2.0,3]", "[0,24]") "}", 24, 0, "w.r", NULL);
    expect_corrupt("overflow.safetensors",
                   "{" ENTRY("w.big", "F32", "[4294967296,4294967296,4294967296]", "[0,24]") "}", 24, 0, "w.big",
                   "overflows");
    expect_corrupt("overflow2.safetensors", "{" ENTRY("w.big2", "F64", "[2305843009213693952]", "[0,24]") "}", 24, 0,
                   "w.big2", "overflows");
    expect_corrupt("entry.safetensors", "{\"w.e\":5}", 24, 0, "w.e", "expected an object");
    expect_corrupt("offs_type.safetensors", "{\"w.t\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 24,
                   0, "w.t", "data_offsets");
    expect_corrupt("noshape.safetensors", "{\"w.s\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 24, 0, "w.s",
                   "shape");
    expect_corrupt("meta.safetensors", "{\"__metadata__\":{\"n\":3}}", 0, 0, NULL, "__metadata__");
    expect_corrupt("dup.safetensors",
                   "{" ENTRY("w.d", "F32", "[1]", "[0,4]") "," ENTRY("w.d", "F32", "[1]", "[4,8]") "}", 24, 0, NULL,
                   "duplicate");

    /* Known dtypes that are not weights parse fine but refuse conversion, naming the tensor. */
    const char *p = write_st("i64.safetensors", "{" ENTRY("pos_ids", "I64", "[3]", "[0,24]") "}", g_data, 24, 0);
    rlae_safetensors *st = NULL;
    CHECK(rlae_safetensors_open(p, &st) == RLAE_OK);
    if (st) {
        rlae_tensor t;
        CHECK(rlae_st_to_f32(rlae_safetensors_find(st, "pos_ids"), &t) == RLAE_ERR_INPUT);
        CHECK(strstr(rlae_last_error(), "'pos_ids'") && strstr(rlae_last_error(), "I64"));
        CHECK(t.data == NULL);
        CHECK(rlae_st_view(rlae_safetensors_find(st, "pos_ids"), &t) == RLAE_OK && t.dtype == RLAE_I64);
        rlae_safetensors_close(st);
    }
    /* A missing file is bad input naming the path. */
    char missing[256];
    snprintf(missing, sizeof missing, "%s/absent.safetensors", g_dir);
    CHECK(rlae_safetensors_open(missing, &st) == RLAE_ERR_INPUT && strstr(rlae_last_error(), "absent.safetensors"));
    /* Five-dimensional tensors open but cannot become rlae tensors (max 4 dims). */
    p = write_st("rank5.safetensors", "{" ENTRY("w5", "F32", "[1,1,1,2,3]", "[0,24]") "}", g_data, 24, 0);
    CHECK(rlae_safetensors_open(p, &st) == RLAE_OK);
    if (st) {
        rlae_tensor t;
        CHECK(rlae_st_to_f32(rlae_safetensors_find(st, "w5"), &t) == RLAE_ERR_UNSUPPORTED);
        rlae_safetensors_close(st);
    }
}

static void write_text(const char *name, const char *text)
{
    char p[256];
    snprintf(p, sizeof p, "%s/%s", g_dir, name);
    FILE *f = fopen(p, "w");
    fputs(text, f);
    fclose(f);
}

static void test_sharded(void)
{
    write_st("model-00001-of-00002.safetensors",
             "{" ENTRY("x.a", "F32", "[2,3]", "[0,24]") "," ENTRY("x.b", "F16", "[4]", "[24,32]") "}", g_data, 32, 0);
    write_st("model-00002-of-00002.safetensors", "{" ENTRY("x.c", "BF16", "[2,2]", "[0,8]") "}", g_data + 32, 8, 0);
    write_text("model.safetensors.index.json",
               "{\"metadata\":{\"total_size\":40},\"weight_map\":{\"x.a\":\"model-00001-of-00002.safetensors\","
               "\"x.b\":\"model-00001-of-00002.safetensors\",\"x.c\":\"model-00002-of-00002.safetensors\"}}");
    rlae_st_checkpoint *ck = NULL;
    rlae_status s = rlae_st_checkpoint_open_dir(g_dir, &ck);
    CHECK_MSG(s == RLAE_OK, "%s", rlae_last_error());
    if (ck) {
        CHECK_EQ_INT(rlae_st_checkpoint_count(ck), 3);
        const rlae_st_tensor *c = rlae_st_checkpoint_find(ck, "x.c");
        CHECK(c && strstr(c->file, "model-00002-of-00002.safetensors"));
        rlae_tensor t;
        CHECK(c && rlae_st_to_f32(c, &t) == RLAE_OK && ((float *)t.data)[1] == -3.5f);
        rlae_tensor_free(&t);
        CHECK(rlae_st_checkpoint_find(ck, "x.a") != NULL);
        CHECK(rlae_st_checkpoint_find(ck, "x.z") == NULL);
        CHECK_EQ_STR(rlae_st_checkpoint_at(ck, 0)->name, "x.a");
        rlae_st_checkpoint_close(ck);
    }

    char idx[256];
    snprintf(idx, sizeof idx, "%s/bad.index.json", g_dir);
    /* A shard the index names but that is not on disk: name the shard and the index. */
    write_text("bad.index.json", "{\"weight_map\":{\"x.a\":\"model-00001-of-00002.safetensors\","
                                 "\"x.q\":\"model-00003-of-00003.safetensors\"}}");
    CHECK(rlae_st_checkpoint_open_index(idx, &ck) == RLAE_ERR_INPUT && ck == NULL);
    CHECK_MSG(strstr(rlae_last_error(), "model-00003-of-00003.safetensors") && strstr(rlae_last_error(), "bad.index.json"),
              "%s", rlae_last_error());
    /* The index assigns a tensor to a shard that does not hold it. */
    write_text("bad.index.json", "{\"weight_map\":{\"x.a\":\"model-00002-of-00002.safetensors\"}}");
    CHECK(rlae_st_checkpoint_open_index(idx, &ck) == RLAE_ERR_INPUT);
    CHECK_MSG(strstr(rlae_last_error(), "'x.a'"), "%s", rlae_last_error());
    write_text("bad.index.json", "{\"weight_map\":{\"x.zz\":\"model-00002-of-00002.safetensors\"}}");
    CHECK(rlae_st_checkpoint_open_index(idx, &ck) == RLAE_ERR_INPUT);
    CHECK_MSG(strstr(rlae_last_error(), "'x.zz'"), "%s", rlae_last_error());
    /* Escaping the model directory is refused. */
    write_text("bad.index.json", "{\"weight_map\":{\"x.a\":\"../etc/passwd\"}}");
    CHECK(rlae_st_checkpoint_open_index(idx, &ck) == RLAE_ERR_INPUT);
    write_text("bad.index.json", "{\"weight_map\":[]}");
    CHECK(rlae_st_checkpoint_open_index(idx, &ck) == RLAE_ERR_INPUT && strstr(rlae_last_error(), "weight_map"));
    write_text("bad.index.json", "{\"weight_map\":");
    CHECK(rlae_st_checkpoint_open_index(idx, &ck) == RLAE_ERR_INPUT && strstr(rlae_last_error(), "bad.index.json"));
    /* The same tensor in two shards is ambiguous. */
    write_st("dup2.safetensors", "{" ENTRY("x.c", "BF16", "[2,2]", "[0,8]") "}", g_data + 32, 8, 0);
    write_text("bad.index.json", "{\"weight_map\":{\"x.c\":\"model-00002-of-00002.safetensors\","
                                 "\"x.d\":\"dup2.safetensors\"}}");
    CHECK(rlae_st_checkpoint_open_index(idx, &ck) == RLAE_ERR_INPUT && strstr(rlae_last_error(), "'x.c'"));
}

static void cleanup(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "warning: could not remove %s\n", g_dir);
}

int main(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/rlae_test_st_XXXXXX");
    if (!mkdtemp(g_dir)) {
        perror("mkdtemp");
        return 1;
    }
    make_data();
    test_valid();
    test_corrupt();
    test_sharded();
    cleanup();
    return test_summary("test_safetensors");
}
