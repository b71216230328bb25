/* Format dispatch for model weights (see model_load.h). The per-format loaders validate contents;
 * this file only decides which one applies and turns wrong-kind paths into actionable messages. */
#include "model/model_load.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "model/hf_config.h"
#include "model/hf_model.h"
#include "model/llama2c_file.h"

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Both entry points: the whole model, or (config_only) out->cfg and out->source alone. */
static rlae_status load(const char *path, const char *format, int config_only, rlae_model_weights *out)
{
    memset(out, 0, sizeof *out);
    if (!format)
        format = "auto";
    if (!path || !*path)
        return rlae_fail(RLAE_ERR_INPUT, "model path is empty; give a Hugging Face model directory or a llama2.c "
                         ".bin checkpoint");
    int is_auto = strcmp(format, "auto") == 0, want_hf = strcmp(format, "hf") == 0,
        want_l2c = strcmp(format, "llama2c") == 0;
    if (!is_auto && !want_hf && !want_l2c)
        return rlae_fail(RLAE_ERR_INPUT, "%s: unknown model format \"%s\" (expected auto, hf or llama2c)", path,
                         format);
    struct stat st;
    if (stat(path, &st) != 0)
        return rlae_fail(RLAE_ERR_INPUT, "%s: model path does not exist (%s); check the member's path in the config",
                         path, strerror(errno));
    int is_dir = S_ISDIR(st.st_mode);
    if (is_dir) {
        if (want_l2c)
            return rlae_fail(RLAE_ERR_INPUT, "%s: is a directory, but format llama2c expects a .bin checkpoint file",
                             path);
        char cfg[4096];
        snprintf(cfg, sizeof cfg, "%s/config.json", path);
        if (stat(cfg, &st) != 0)
            return rlae_fail(RLAE_ERR_INPUT, "%s: directory has no config.json; expected a Hugging Face model "
                             "directory (config.json + *.safetensors)", path);
        if (!config_only)
            return rlae_hf_load(path, out);
        snprintf(out->source, sizeof out->source, "%s", path);
        rlae_status s = rlae_hf_config_load(cfg, &out->cfg);
        if (s != RLAE_OK)
            memset(out, 0, sizeof *out);
        return s;
    }
    if (want_hf) {
        if (has_suffix(path, "config.json") || has_suffix(path, ".safetensors") ||
            has_suffix(path, ".safetensors.index.json"))
            return rlae_fail(RLAE_ERR_INPUT, "%s: format hf expects the model directory, not a file inside it; "
                             "pass the directory that holds config.json", path);
        return rlae_fail(RLAE_ERR_INPUT, "%s: format hf expects a model directory with config.json", path);
    }
    /* auto or llama2c on a file: catch the common mistake of pointing at part of an HF model. */
    if (is_auto && (has_suffix(path, "config.json") || has_suffix(path, ".safetensors") ||
                    has_suffix(path, ".safetensors.index.json")))
        return rlae_fail(RLAE_ERR_INPUT, "%s: looks like part of a Hugging Face model; pass the directory that "
                         "holds config.json instead", path);
    if (!config_only)
        return rlae_llama2c_load(path, out);
    snprintf(out->source, sizeof out->source, "%s", path);
    rlae_status s = rlae_llama2c_read_config(path, &out->cfg);
    if (s != RLAE_OK)
        memset(out, 0, sizeof *out);
    return s;
}

rlae_status rlae_model_load(const char *path, const char *format, rlae_model_weights *out)
{
    return load(path, format, 0, out);
}

rlae_status rlae_model_load_config(const char *path, const char *format, rlae_model_weights *out)
{
    return load(path, format, 1, out);
}
