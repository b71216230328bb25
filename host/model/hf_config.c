/* config.json parsing for Hugging Face Llama-family models (see hf_config.h for keys and defaults).
 * Every key is read through a typed getter that names the file and the key on failure, so a typo
 * or a foreign architecture is reported up front rather than as a shape mismatch later. */
#include "model/hf_config.h"
#include "core/json_util.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"

/* Reads an integer key into *out. Absent or null: `def` if optional, error if required. A real with
 * an integral value (some exporters write 4096.0) is accepted. Range [lo, hi] is enforced. */
static rlae_status get_int(const json_t *obj, const char *key, int required, long long def, long long lo,
                           long long hi, const char *label, const char *path, int *out)
{
    json_t *v = json_object_get(obj, key);
    long long x;
    if (!v || json_is_null(v)) {
        if (required)
            return rlae_fail(RLAE_ERR_INPUT, "%s: required key \"%s%s\" is missing; is this a Llama/Mistral/Qwen2 "
                             "config.json?", label, path, key);
        x = def;
    } else if (json_is_integer(v)) {
        x = (long long)json_integer_value(v);
    } else if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
               fabs(json_real_value(v)) < 9e15) {
        x = (long long)json_real_value(v);
    } else {
        return rlae_fail(RLAE_ERR_INPUT, "%s: key \"%s%s\" is %s, expected an integer", label, path, key, rlae_json_type_name(v));
    }
    if (x < lo || x > hi)
        return rlae_fail(RLAE_ERR_INPUT, "%s: key \"%s%s\" is %lld, outside the supported range [%lld, %lld]", label,
                         path, key, x, lo, hi);
    *out = (int)x;
    return RLAE_OK;
}

/* Reads a positive finite number (integer or real). */
static rlae_status get_pos_float(const json_t *obj, const char *key, int required, double def, const char *label,
                                 const char *path, float *out)
{
    json_t *v = json_object_get(obj, key);
    double x;
    if (!v || json_is_null(v)) {
        if (required)
            return rlae_fail(RLAE_ERR_INPUT, "%s: required key \"%s%s\" is missing", label, path, key);
        x = def;
    } else if (json_is_number(v)) {
        x = json_number_value(v);
    } else {
        return rlae_fail(RLAE_ERR_INPUT, "%s: key \"%s%s\" is %s, expected a number", label, path, key, rlae_json_type_name(v));
    }
    /* Checked after narrowing: 1e-50 is positive as a double but 0 as the float the forward uses. */
    float fx = (float)x;
    if (!(fx > 0) || !isfinite(fx))
        return rlae_fail(RLAE_ERR_INPUT, "%s: key \"%s%s\" is %g, expected a positive finite number within fp32 "
                         "range", label, path, key, x);
    *out = fx;
    return RLAE_OK;
}

static rlae_status get_bool(const json_t *obj, const char *key, int def, const char *label, int *out)
{
    json_t *v = json_object_get(obj, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return RLAE_OK;
    }
    if (!json_is_boolean(v))
        return rlae_fail(RLAE_ERR_INPUT, "%s: key \"%s\" is %s, expected true or false", label, key, rlae_json_type_name(v));
    *out = json_is_true(v);
    return RLAE_OK;
}

/* bos/eos: an integer, a list of integers (first one kept, see hf_config.h) or null/absent (-1). */
static rlae_status get_token_id(const json_t *obj, const char *key, const char *label, int *out)
{
    json_t *v = json_object_get(obj, key);
    *out = -1;
    if (!v || json_is_null(v))
        return RLAE_OK;
    json_t *first = v;
    if (json_is_array(v)) {
        if (json_array_size(v) == 0)
            return RLAE_OK;
        first = json_array_get(v, 0);
    }
    if (!json_is_integer(first) || json_integer_value(first) < 0 || json_integer_value(first) > INT_MAX)
        return rlae_fail(RLAE_ERR_INPUT, "%s: key \"%s\" is %s, expected a non-negative token id or a list of them",
                         label, key, rlae_json_type_name(first));
    *out = (int)json_integer_value(first);
    return RLAE_OK;
}

static rlae_status parse_rope_scaling(const json_t *root, const char *label, rlae_model_config *c)
{
    json_t *rs = json_object_get(root, "rope_scaling");
    c->rope_scaling = RLAE_ROPE_NONE;
    c->rope_factor = 1.0f;
    if (!rs || json_is_null(rs))
        return RLAE_OK;
    if (!json_is_object(rs))
        return rlae_fail(RLAE_ERR_INPUT, "%s: key \"rope_scaling\" is %s, expected null or an object", label, rlae_json_type_name(rs));
    /* transformers renamed "type" to "rope_type"; configs carry either (sometimes both). */
    json_t *t = json_object_get(rs, "rope_type");
    if (!t)
        t = json_object_get(rs, "type");
    if (!json_is_string(t))
        return rlae_fail(RLAE_ERR_INPUT, "%s: key \"rope_scaling.rope_type\" is %s, expected a string such as "
                         "\"llama3\" or \"linear\"", label, t ? rlae_json_type_name(t) : "missing");
    const char *type = json_string_value(t);
    if (strcmp(type, "default") == 0)
        return RLAE_OK;
    if (strcmp(type, "linear") == 0) {
        c->rope_scaling = RLAE_ROPE_LINEAR;
        return get_pos_float(rs, "factor", 1, 0, label, "rope_scaling.", &c->rope_factor);
    }
    if (strcmp(type, "llama3") == 0) {
        c->rope_scaling = RLAE_ROPE_LLAMA3;
        RLAE_TRY(get_pos_float(rs, "factor", 1, 0, label, "rope_scaling.", &c->rope_factor));
        RLAE_TRY(get_pos_float(rs, "low_freq_factor", 1, 0, label, "rope_scaling.", &c->rope_low_freq_factor));
        RLAE_TRY(get_pos_float(rs, "high_freq_factor", 1, 0, label, "rope_scaling.", &c->rope_high_freq_factor));
        RLAE_TRY(get_int(rs, "original_max_position_embeddings", 1, 0, 1, 1 << 26, label, "rope_scaling.",
                         &c->rope_original_max_pos));
        /* The llama3 formula divides by (high - low); equal factors would be a division by zero. */
        if (!(c->rope_high_freq_factor > c->rope_low_freq_factor))
            return rlae_fail(RLAE_ERR_INPUT, "%s: rope_scaling high_freq_factor (%g) must be greater than "
                             "low_freq_factor (%g)", label, c->rope_high_freq_factor, c->rope_low_freq_factor);
        return RLAE_OK;
    }
    return rlae_fail(RLAE_ERR_UNSUPPORTED, "%s: rope_scaling type \"%s\" is not supported (supported: null, "
                     "\"default\", \"linear\", \"llama3\")", label, type);
}

static rlae_status parse_root(const json_t *root, const char *label, rlae_model_config *c)
{
    if (!json_is_object(root))
        return rlae_fail(RLAE_ERR_INPUT, "%s: expected a JSON object, found %s", label, rlae_json_type_name(root));
    json_t *mt = json_object_get(root, "model_type");
    if (!mt)
        return rlae_fail(RLAE_ERR_INPUT, "%s: required key \"model_type\" is missing (supported: llama, mistral, "
                         "qwen2)", label);
    if (!json_is_string(mt))
        return rlae_fail(RLAE_ERR_INPUT, "%s: key \"model_type\" is %s, expected a string", label, rlae_json_type_name(mt));
    const char *type = json_string_value(mt);
    int is_qwen2 = strcmp(type, "qwen2") == 0, is_llama = strcmp(type, "llama") == 0;
    if (!is_qwen2 && !is_llama && strcmp(type, "mistral") != 0)
        return rlae_fail(RLAE_ERR_INPUT, "%s: model_type \"%s\" is not supported (supported: llama, mistral, "
                         "qwen2)", label, type);
    snprintf(c->arch, sizeof c->arch, "%s", type);

    RLAE_TRY(get_int(root, "hidden_size", 1, 0, 1, 1 << 16, label, "", &c->dim));
    RLAE_TRY(get_int(root, "intermediate_size", 1, 0, 1, 1 << 20, label, "", &c->hidden_dim));
    RLAE_TRY(get_int(root, "num_hidden_layers", 1, 0, 1, 1024, label, "", &c->n_layers));
    RLAE_TRY(get_int(root, "num_attention_heads", 1, 0, 1, 1024, label, "", &c->n_heads));
    RLAE_TRY(get_int(root, "num_key_value_heads", 0, c->n_heads, 1, 1024, label, "", &c->n_kv_heads));
    RLAE_TRY(get_int(root, "vocab_size", 1, 0, 1, 1 << 24, label, "", &c->vocab_size));
    RLAE_TRY(get_int(root, "max_position_embeddings", 0, is_llama ? 2048 : 32768, 1, 1 << 26, label, "",
                     &c->max_seq_len));
    json_t *hd = json_object_get(root, "head_dim");
    if (!hd || json_is_null(hd)) {
        if (c->dim % c->n_heads != 0)
            return rlae_fail(RLAE_ERR_INPUT, "%s: hidden_size %d is not divisible by num_attention_heads %d and no "
                             "head_dim is given", label, c->dim, c->n_heads);
        c->head_dim = c->dim / c->n_heads;
    } else {
        RLAE_TRY(get_int(root, "head_dim", 1, 0, 1, 1 << 12, label, "", &c->head_dim));
    }
    if (c->n_heads % c->n_kv_heads != 0)
        return rlae_fail(RLAE_ERR_INPUT, "%s: num_attention_heads %d is not a multiple of num_key_value_heads %d",
                         label, c->n_heads, c->n_kv_heads);
    if (c->head_dim % 2 != 0)
        return rlae_fail(RLAE_ERR_INPUT, "%s: head_dim %d is odd; RoPE needs an even head size", label, c->head_dim);

    RLAE_TRY(get_pos_float(root, "rms_norm_eps", 0, 1e-6, label, "", &c->norm_eps));
    RLAE_TRY(get_pos_float(root, "rope_theta", 0, 10000.0, label, "", &c->rope_theta));
    RLAE_TRY(parse_rope_scaling(root, label, c));
    RLAE_TRY(get_bool(root, "tie_word_embeddings", 0, label, &c->tied_embeddings));

    /* Qwen2's attention hard-codes bias=True on q/k/v (and none on o); its config has no key for it. */
    int attn_bias = 0, mlp_bias = 0;
    RLAE_TRY(get_bool(root, "attention_bias", 0, label, &attn_bias));
    RLAE_TRY(get_bool(root, "mlp_bias", 0, label, &mlp_bias));
    if (!is_qwen2 && attn_bias)
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "%s: attention_bias true (biases on q/k/v and o projections) is not "
                         "supported for model_type %s; only Qwen2-style q/k/v biases are", label, type);
    if (mlp_bias)
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "%s: mlp_bias true is not supported (the MLP has no biases)", label);
    c->qkv_bias = is_qwen2;
    json_t *act = json_object_get(root, "hidden_act");
    if (act && !json_is_null(act) && (!json_is_string(act) || strcmp(json_string_value(act), "silu") != 0))
        return rlae_fail(RLAE_ERR_UNSUPPORTED, "%s: hidden_act %s%s%s is not supported (only \"silu\", i.e. SwiGLU)",
                         label, json_is_string(act) ? "\"" : "", json_is_string(act) ? json_string_value(act) : rlae_json_type_name(act),
                         json_is_string(act) ? "\"" : "");

    RLAE_TRY(get_token_id(root, "bos_token_id", label, &c->bos_id));
    RLAE_TRY(get_token_id(root, "eos_token_id", label, &c->eos_id));

    json_t *sw = json_object_get(root, "sliding_window");
    if (json_is_integer(sw))
        rlae_debug("%s: sliding_window %lld is not applied (rlae runs contexts shorter than the window)", label,
                   (long long)json_integer_value(sw));
    return RLAE_OK;
}

rlae_status rlae_hf_config_parse(const char *text, size_t len, const char *label, rlae_model_config *out)
{
    memset(out, 0, sizeof *out);
    json_error_t err;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        return rlae_fail(RLAE_ERR_INPUT, "%s:%d:%d: malformed JSON: %s", label, err.line, err.column, err.text);
    rlae_status s = parse_root(root, label, out);
    json_decref(root);
    if (s != RLAE_OK)
        memset(out, 0, sizeof *out);
    return s;
}

rlae_status rlae_hf_config_load(const char *path, rlae_model_config *out)
{
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f)
        return rlae_fail(RLAE_ERR_INPUT, "%s: cannot open config.json: %s", path, strerror(errno));
    /* Real configs are a few KB; the cap keeps a wrong path (a weights file) from being slurped. */
    enum { CAP = 1 << 20 };
    char *buf = rlae_malloc(CAP);
    if (!buf) {
        fclose(f);
        return RLAE_ERR_NOMEM;
    }
    size_t n = fread(buf, 1, CAP, f);
    int err = ferror(f), more = !err && n == CAP && fgetc(f) != EOF;
    fclose(f);
    rlae_status s;
    if (err)
        s = rlae_fail(RLAE_ERR_IO, "%s: read error", path);
    else if (more)
        s = rlae_fail(RLAE_ERR_INPUT, "%s: larger than %d bytes; this is not a model config.json", path, CAP);
    else
        s = rlae_hf_config_parse(buf, n, path, out);
    free(buf);
    return s;
}
