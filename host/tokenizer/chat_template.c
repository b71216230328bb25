/* Built-in chat templates (see chat_template.h). The formats were checked against the official
 * Jinja templates rendered with add_generation_prompt=True; tests/unit/test_chat_template.c holds
 * the expected strings. */
#include "tokenizer/chat_template.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char *const template_names[] = {
    [RLAE_CHAT_PLAIN] = "plain",   [RLAE_CHAT_LLAMA2] = "llama2",   [RLAE_CHAT_LLAMA3] = "llama3",
    [RLAE_CHAT_CHATML] = "chatml", [RLAE_CHAT_MISTRAL] = "mistral",
};
#define N_TEMPLATES ((int)(sizeof template_names / sizeof template_names[0]))

const char *rlae_chat_template_name(rlae_chat_template t)
{
    return (int)t >= 0 && (int)t < N_TEMPLATES ? template_names[t] : "unknown";
}

rlae_status rlae_chat_template_from_name(const char *name, rlae_chat_template *out)
{
    for (int i = 0; i < N_TEMPLATES; i++)
        if (name && strcmp(name, template_names[i]) == 0) {
            *out = (rlae_chat_template)i;
            return RLAE_OK;
        }
    return rlae_fail(RLAE_ERR_INPUT, "unknown chat template '%s': expected one of %s", name ? name : "(null)",
                     RLAE_CHAT_TEMPLATE_NAMES);
}

const char *rlae_chat_template_bos_text(rlae_chat_template t)
{
    switch (t) {
    case RLAE_CHAT_LLAMA3: return "<|begin_of_text|>";
    case RLAE_CHAT_LLAMA2:
    case RLAE_CHAT_MISTRAL: return "<s>";
    default: return NULL;
    }
}

/* Order matters: a Llama 3 or ChatML template may mention [INST] in a comment or a tool branch,
 * while the header markers are unambiguous. */
static int detect(const char *jinja, rlae_chat_template *out)
{
    if (strstr(jinja, "<|start_header_id|>"))
        *out = RLAE_CHAT_LLAMA3;
    else if (strstr(jinja, "<|im_start|>"))
        *out = RLAE_CHAT_CHATML;
    else if (strstr(jinja, "[INST]"))
        *out = strstr(jinja, "<<SYS>>") ? RLAE_CHAT_LLAMA2 : RLAE_CHAT_MISTRAL;
    else
        return 0;
    return 1;
}

static const char how_to_name[] =
    "rlae recognises Llama 3 (<|start_header_id|>), ChatML (<|im_start|>), Llama 2 ([INST] with <<SYS>>) "
    "and Mistral ([INST]) templates; name the format in the config instead: "
    "members[i].chat_template: " RLAE_CHAT_TEMPLATE_NAMES;

rlae_status rlae_chat_template_detect(const char *jinja, rlae_chat_template *out)
{
    if (!jinja) {
        *out = RLAE_CHAT_PLAIN;
        return RLAE_OK;
    }
    if (detect(jinja, out))
        return RLAE_OK;
    return rlae_fail(RLAE_ERR_INPUT, "unrecognised chat template; %s", how_to_name);
}

rlae_status rlae_chat_template_from_tokenizer_config(const char *path, rlae_chat_template *out)
{
    json_error_t err;
    json_t *root = json_load_file(path, 0, &err);
    if (!root) {
        if (err.line < 0) /* jansson reports I/O failures with line -1 */
            return rlae_fail(RLAE_ERR_INPUT, "%s: %s", path, err.text);
        return rlae_fail(RLAE_ERR_INPUT, "%s:%d:%d: invalid JSON: %s", path, err.line, err.column, err.text);
    }
    rlae_status s = RLAE_OK;
    const char *jinja = NULL;
    json_t *ct = json_is_object(root) ? json_object_get(root, "chat_template") : NULL;
    if (!json_is_object(root)) {
        s = rlae_fail(RLAE_ERR_INPUT, "%s: expected a JSON object at the top level", path);
    } else if (!ct || json_is_null(ct)) {
        *out = RLAE_CHAT_PLAIN;
    } else if (json_is_string(ct)) {
        jinja = json_string_value(ct);
    } else if (json_is_array(ct) && json_array_size(ct) > 0) {
        /* Newer configs hold several named templates ("default", "tool_use", "rag"). */
        size_t i;
        json_t *item;
        json_array_foreach(ct, i, item)
        {
            const char *name = json_string_value(json_object_get(item, "name"));
            const char *tmpl = json_string_value(json_object_get(item, "template"));
            if (tmpl && (!jinja || (name && strcmp(name, "default") == 0)))
                jinja = tmpl;
            if (tmpl && name && strcmp(name, "default") == 0)
                break;
        }
        if (!jinja)
            s = rlae_fail(RLAE_ERR_INPUT, "%s: chat_template is a list without a {name, template} entry; "
                                          "name the format in the config: members[i].chat_template: %s",
                          path, RLAE_CHAT_TEMPLATE_NAMES);
    } else {
        s = rlae_fail(RLAE_ERR_INPUT, "%s: chat_template must be a string or a list of {name, template}; "
                                      "name the format in the config: members[i].chat_template: %s",
                      path, RLAE_CHAT_TEMPLATE_NAMES);
    }
    if (s == RLAE_OK && jinja && !detect(jinja, out))
        s = rlae_fail(RLAE_ERR_INPUT, "%s: unrecognised chat_template; %s", path, how_to_name);
    json_decref(root);
    return s;
}

/* ---- formatting --------------------------------------------------------------------------------- */

/* Python's str.isspace, which Jinja's trim and str.strip() use. */
static int py_space(uint32_t c)
{
    return (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x20) || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
           c == 0x3000;
}

/* Decodes the UTF-8 sequence at s[0..n); returns its length (1 for an invalid byte, with c = 0xFFFD
 * so it never counts as whitespace). */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *c)
{
    unsigned char b = s[0];
    size_t len = b < 0x80 ? 1 : (b & 0xe0) == 0xc0 ? 2 : (b & 0xf0) == 0xe0 ? 3 : (b & 0xf8) == 0xf0 ? 4 : 0;
    if (len == 0 || len > n) {
        *c = 0xfffd;
        return 1;
    }
    uint32_t v = len == 1 ? b : len == 2 ? (b & 0x1fu) : len == 3 ? (b & 0x0fu) : (b & 0x07u);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            *c = 0xfffd;
            return 1;
        }
        v = (v << 6) | (s[i] & 0x3fu);
    }
    *c = v;
    return len;
}

/* Python str.strip() on a UTF-8 string: the [begin, end) byte range without outer whitespace. */
static void py_strip(const char *s, size_t n, size_t *begin, size_t *end)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t b = 0, e = n;
    uint32_t c;
    while (b < e) {
        size_t len = utf8_decode(u + b, e - b, &c);
        if (!py_space(c))
            break;
        b += len;
    }
    while (e > b) {
        size_t start = e - 1;
        while (start > b && e - start < 4 && (u[start] & 0xc0) == 0x80) /* back to a lead byte */
            start--;
        size_t len = utf8_decode(u + start, e - start, &c);
        if (start + len != e || !py_space(c))
            break;
        e = start;
    }
    *begin = b;
    *end = e;
}

typedef struct {
    char *buf;
    size_t len, cap;
    int failed;
} sbuf;

static void put_n(sbuf *sb, const char *s, size_t n)
{
    if (sb->failed)
        return;
    if (sb->len + n + 1 > sb->cap) {
        size_t cap = sb->cap ? sb->cap : 256;
        while (cap < sb->len + n + 1)
            cap *= 2;
        char *nb = rlae_realloc(sb->buf, cap);
        if (!nb) {
            sb->failed = 1;
            return;
        }
        sb->buf = nb;
        sb->cap = cap;
    }
    memcpy(sb->buf + sb->len, s, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

static void put(sbuf *sb, const char *s) { put_n(sb, s, strlen(s)); }

static void put_trimmed(sbuf *sb, const char *s)
{
    size_t b, e;
    py_strip(s, strlen(s), &b, &e);
    put_n(sb, s + b, e - b);
}

rlae_status rlae_chat_format(rlae_chat_template t, const char *system, const char *user, char **out)
{
    *out = NULL;
    if (!user)
        return rlae_fail(RLAE_ERR_INPUT, "chat prompt without a user message");
    int has_sys = system && system[0];
    sbuf sb = {0};
    put(&sb, ""); /* an empty result is still a valid string */
    switch (t) {
    case RLAE_CHAT_LLAMA3:
        if (has_sys) {
            put(&sb, "<|start_header_id|>system<|end_header_id|>\n\n");
            put_trimmed(&sb, system);
            put(&sb, "<|eot_id|>");
        }
        put(&sb, "<|start_header_id|>user<|end_header_id|>\n\n");
        put_trimmed(&sb, user);
        put(&sb, "<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
        break;
    case RLAE_CHAT_CHATML:
        if (has_sys) {
            put(&sb, "<|im_start|>system\n");
            put(&sb, system);
            put(&sb, "<|im_end|>\n");
        }
        put(&sb, "<|im_start|>user\n");
        put(&sb, user);
        put(&sb, "<|im_end|>\n<|im_start|>assistant\n");
        break;
    case RLAE_CHAT_LLAMA2: {
        /* The official template strips the whole first turn, system block included. */
        sbuf content = {0};
        put(&content, "");
        if (has_sys) {
            put(&content, "<<SYS>>\n");
            put(&content, system);
            put(&content, "\n<</SYS>>\n\n");
        }
        put(&content, user);
        put(&sb, "[INST] ");
        if (!content.failed)
            put_trimmed(&sb, content.buf);
        else
            sb.failed = 1;
        put(&sb, " [/INST]");
        free(content.buf);
        break;
    }
    case RLAE_CHAT_MISTRAL:
        put(&sb, "[INST] ");
        if (has_sys) {
            put(&sb, system);
            put(&sb, "\n\n");
        }
        put(&sb, user);
        put(&sb, " [/INST]");
        break;
    case RLAE_CHAT_PLAIN:
        if (has_sys) {
            put(&sb, system);
            put(&sb, "\n\n");
        }
        put(&sb, user);
        break;
    default:
        free(sb.buf);
        return rlae_fail(RLAE_ERR_INPUT, "unknown chat template id %d", (int)t);
    }
    if (sb.failed) {
        free(sb.buf);
        return RLAE_ERR_NOMEM;
    }
    *out = sb.buf;
    return RLAE_OK;
}
