/* Members loaded without their weights (rlae_member_load_meta), as dist.placement model_parallel
 * loads the members of other ranks:
 *   - llama2.c (stories260K, babyllama105) and HF (tests/fixtures/models/llama) members: the meta
 *     load gives the configuration, tokenizer, ids, chat template and cache sizes of the full load,
 *     holds no tensor and no key/value memory; the cache lengths work (reset, len);
 *   - an HF directory whose model.safetensors is garbage loads meta-only (the file is never opened)
 *     while the full load rejects it; a truncated llama2.c file is still an error (length checked);
 *   - a forward of a meta-only member is RLAE_ERR_RUNTIME naming the member, through
 *     rlae_member_forward, through rlae_forward on its model (no crash), and through a rollout that
 *     would have to run it here; the rollout refuses a meta-only encoder. */
#include "algorithms/baselines.h"
#include "ensemble/member.h"
#include "ensemble/rollout.h"
#include "ensemble/vocab_union.h"
#include "model/hf_config.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int same_config(const rlae_model_config *a, const rlae_model_config *b)
{
    return memcmp(a, b, sizeof *a) == 0;
}

/* The meta load of cfg against the full one: same knowledge, no weights. */
static void compare_with_full(const rlae_member_config *c, const char *label)
{
    rlae_member full, meta;
    rlae_status s = rlae_member_load(&full, c, 3, 0);
    CHECK_MSG(s == RLAE_OK, "%s full: %s", label, rlae_last_error());
    s = rlae_member_load_meta(&meta, c, RLAE_DEV_CPU, 3, 0);
    CHECK_MSG(s == RLAE_OK, "%s meta: %s", label, rlae_last_error());
    if (s != RLAE_OK)
        return;
    CHECK_MSG(same_config(&full.w.cfg, &meta.w.cfg), "%s: configurations differ", label);
    CHECK_EQ_INT(meta.meta_only, 1);
    CHECK_EQ_INT(full.meta_only, 0);
    CHECK(meta.w.tok_embeddings.data == NULL && meta.w.layers == NULL && meta.w.lm_head.data == NULL);
    CHECK(meta.cache.k.data == NULL && meta.cache.v.data == NULL);
    CHECK_EQ_INT(meta.cache.n_slots, full.cache.n_slots);
    CHECK_EQ_INT(meta.cache.capacity, full.cache.capacity);
    CHECK_EQ_INT(meta.cache.capacity, full.w.cfg.max_seq_len);
    CHECK_EQ_STR(meta.name, full.name);
    CHECK_EQ_STR(meta.path, full.path);
    CHECK_EQ_STR(meta.tokenizer_path, full.tokenizer_path);
    CHECK_EQ_INT(meta.add_bos, full.add_bos);
    CHECK_EQ_INT(meta.bos_id, full.bos_id);
    CHECK_EQ_INT(meta.eos_id, full.eos_id);
    CHECK_EQ_INT(meta.ends_on_bos, full.ends_on_bos);
    CHECK_EQ_INT(meta.use_chat, full.use_chat);
    CHECK_EQ_INT(rlae_tokenizer_vocab_size(meta.tok), rlae_tokenizer_vocab_size(full.tok));
    int32_t *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    CHECK(rlae_member_encode_prompt(&full, "", "Once upon a time", &a, &na) == RLAE_OK);
    CHECK(rlae_member_encode_prompt(&meta, "", "Once upon a time", &b, &nb) == RLAE_OK);
    CHECK_MSG(na == nb && na > 0 && memcmp(a, b, na * sizeof *a) == 0, "%s: prompts encode differently", label);
    free(a);
    free(b);
    /* host-side lengths: what the rollout's context checks read */
    meta.cache.len[2] = 7;
    CHECK_EQ_INT(rlae_kv_cache_len(&meta.cache, 2), 7);
    CHECK(rlae_kv_cache_reset(&meta.cache, 2) == RLAE_OK);
    CHECK_EQ_INT(rlae_kv_cache_len(&meta.cache, 2), 0);
    /* a forward is refused with a clear error, never a crash */
    int slot = 0, n_new = 1;
    int32_t tok = 1;
    float *logits = calloc((size_t)meta.w.cfg.vocab_size, sizeof *logits);
    s = rlae_member_forward(&meta, 1, &slot, &n_new, &tok, logits, NULL);
    CHECK_EQ_INT(s, RLAE_ERR_RUNTIME);
    CHECK_MSG(strstr(rlae_last_error(), "without its weights") && strstr(rlae_last_error(), meta.name),
              "%s: message: %s", label, rlae_last_error());
    CHECK(rlae_forward(&meta.model, &meta.cache, 1, &slot, &n_new, &tok, logits, NULL) != RLAE_OK);
    CHECK_EQ_INT(rlae_kv_cache_len(&meta.cache, 0), 0);
    /* the full member runs the same call */
    CHECK(rlae_member_forward(&full, 1, &slot, &n_new, &tok, logits, NULL) == RLAE_OK);
    CHECK_EQ_INT(rlae_kv_cache_len(&full.cache, 0), 1);
    free(logits);
    rlae_member_free(&meta);
    rlae_member_free(&full);
    CHECK(meta.tok == NULL && meta.cache.len == NULL); /* freed and zeroed */
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    if (f) {
        CHECK(fwrite(data, 1, n, f) == n);
        fclose(f);
    }
}

static char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    char *d = malloc(*n + 1);
    if (d && fread(d, 1, *n, f) != *n) {
        free(d);
        d = NULL;
    }
    fclose(f);
    return d;
}

int main(void)
{
    const char *tok105 = test_shared_path("models/babyllama105/tok105.bin");
    rlae_member_config stories = {.name = "stories", .path = (char *)test_shared_path("models/stories260K/stories260K.bin"),
                                  .tokenizer = "", .weight = 1};
    rlae_member_config baby = {.name = "baby", .path = (char *)test_shared_path("models/babyllama105/model5000.bin"),
                               .tokenizer = (char *)tok105, .weight = 1};
    rlae_member_config hf = {.name = "hf", .path = (char *)test_fixture_path("models/llama"),
                             .tokenizer = (char *)tok105, .weight = 1};
    compare_with_full(&stories, "stories260K");
    compare_with_full(&baby, "babyllama105");
    compare_with_full(&hf, "hf llama fixture");

    /* an HF directory with a garbage safetensors file: meta-only never opens it */
    char dir[] = "/tmp/rlae-meta-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char p_cfg[256], p_st[256], p_bin[256];
    snprintf(p_cfg, sizeof p_cfg, "%s/config.json", dir);
    snprintf(p_st, sizeof p_st, "%s/model.safetensors", dir);
    snprintf(p_bin, sizeof p_bin, "%s/cut.bin", dir);
    size_t n = 0;
    char *cj = read_all(test_fixture_path("models/llama/config.json"), &n);
    CHECK(cj != NULL);
    if (cj)
        write_file(p_cfg, cj, n);
    free(cj);
    write_file(p_st, "not a safetensors file", 22);
    rlae_member_config junk = {.name = "junk", .path = dir, .tokenizer = (char *)tok105, .weight = 1};
    rlae_member m;
    rlae_status s = rlae_member_load_meta(&m, &junk, RLAE_DEV_CPU, 2, 0);
    CHECK_MSG(s == RLAE_OK, "meta of a directory with garbage weights: %s", rlae_last_error());
    rlae_model_config want;
    CHECK(rlae_hf_config_load(p_cfg, &want) == RLAE_OK);
    if (s == RLAE_OK) {
        CHECK(same_config(&m.w.cfg, &want));
        rlae_member_free(&m);
    }
    CHECK(rlae_member_load(&m, &junk, 2, 0) != RLAE_OK); /* the full load reads the weights */

    /* a truncated llama2.c checkpoint: the meta load still checks the length against the header */
    char *bin = read_all(stories.path, &n);
    CHECK(bin != NULL);
    if (bin)
        write_file(p_bin, bin, n - 4);
    free(bin);
    rlae_member_config cut = {.name = "cut", .path = p_bin, .tokenizer = (char *)tok105, .weight = 1};
    s = rlae_member_load_meta(&m, &cut, RLAE_DEV_CPU, 2, 0);
    CHECK_EQ_INT(s, RLAE_ERR_INPUT);
    CHECK_MSG(strstr(rlae_last_error(), "implies") != NULL, "message: %s", rlae_last_error());
    unlink(p_cfg);
    unlink(p_st);
    unlink(p_bin);
    rmdir(dir);

    /* a rollout without a comm runs every member here: a meta-only one stops it with the error */
    rlae_member ms[2];
    CHECK(rlae_member_load(&ms[0], &stories, 2, 0) == RLAE_OK);
    CHECK(rlae_member_load_meta(&ms[1], &baby, RLAE_DEV_CPU, 2, 0) == RLAE_OK);
    const rlae_tokenizer *toks[2] = {ms[0].tok, ms[1].tok};
    const char *names[2] = {ms[0].name, ms[1].name};
    rlae_vocab_union *vu = NULL;
    CHECK(rlae_vocab_union_build(toks, 2, names, &vu) == RLAE_OK);
    rlae_rollout_options opt = {.span = 2, .max_new_tokens = 4, .temperature = 0, .top_k = 0, .top_p = 1, .seed = 1};
    rlae_rollout *ro = NULL;
    s = rlae_rollout_new(ms, 2, vu, &opt, 2, &ro);
    CHECK_MSG(s == RLAE_OK, "rollout with a meta-only member: %s", rlae_last_error());
    if (s == RLAE_OK) {
        rlae_weight_policy pol;
        rlae_fixed_weights ctx;
        CHECK(rlae_policy_uniform(&pol, &ctx, 2) == RLAE_OK);
        rlae_rollout_request req[1] = {{.system = "", .user = "Once", .episode = 0}};
        rlae_episode ep[1];
        s = rlae_rollout_run(ro, req, 1, &pol, ep);
        CHECK_EQ_INT(s, RLAE_ERR_RUNTIME);
        CHECK_MSG(strstr(rlae_last_error(), "member 'baby'") && strstr(rlae_last_error(), "without its weights"),
                  "message: %s", rlae_last_error());
        CHECK(rlae_rollout_set_encoder(ro, &ms[1]) == RLAE_ERR_INPUT); /* the encoder runs everywhere */
        rlae_rollout_free(ro);
    }
    rlae_vocab_union_free(vu);
    rlae_member_free(&ms[0]);
    rlae_member_free(&ms[1]);
    return test_summary("ensemble_meta_member");
}
