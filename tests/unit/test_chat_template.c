/* Chat templates: formatted prompts against hand-written strings of what the official Hugging Face
 * templates render for [system?, user] with add_generation_prompt=True (minus the leading BOS, see
 * chat_template.h); names; recognition from template text and from tokenizer_config.json files,
 * including the error for an unrecognised template. */
#include "tokenizer/chat_template.h"
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void check_format(rlae_chat_template t, const char *sys, const char *user, const char *want)
{
    char *got = NULL;
    CHECK(rlae_chat_format(t, sys, user, &got) == RLAE_OK);
    CHECK_EQ_STR(got, want);
    free(got);
}

static void test_formats(void)
{
    const char *sys = "You are a careful math tutor.";
    const char *q = "What is 7 * 8?";

    check_format(RLAE_CHAT_LLAMA3, sys, q,
                 "<|start_header_id|>system<|end_header_id|>\n\nYou are a careful math tutor.<|eot_id|>"
                 "<|start_header_id|>user<|end_header_id|>\n\nWhat is 7 * 8?<|eot_id|>"
                 "<|start_header_id|>assistant<|end_header_id|>\n\n");
    check_format(RLAE_CHAT_LLAMA3, NULL, q,
                 "<|start_header_id|>user<|end_header_id|>\n\nWhat is 7 * 8?<|eot_id|>"
                 "<|start_header_id|>assistant<|end_header_id|>\n\n");
    /* Llama 3 trims each message (Jinja's trim). */
    check_format(RLAE_CHAT_LLAMA3, " \tBe brief.\n", "\n  Hi there \n\n",
                 "<|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
                 "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>"
                 "<|start_header_id|>assistant<|end_header_id|>\n\n");

    check_format(RLAE_CHAT_CHATML, sys, q,
                 "<|im_start|>system\nYou are a careful math tutor.<|im_end|>\n"
                 "<|im_start|>user\nWhat is 7 * 8?<|im_end|>\n"
                 "<|im_start|>assistant\n");
    /* ChatML keeps whitespace as given. */
    check_format(RLAE_CHAT_CHATML, "", " Hi \n",
                 "<|im_start|>user\n Hi \n<|im_end|>\n<|im_start|>assistant\n");

    check_format(RLAE_CHAT_LLAMA2, sys, q,
                 "[INST] <<SYS>>\nYou are a careful math tutor.\n<</SYS>>\n\nWhat is 7 * 8? [/INST]");
    check_format(RLAE_CHAT_LLAMA2, NULL, "  What is 7 * 8?\n", "[INST] What is 7 * 8? [/INST]");
    /* The strip covers the whole first turn: the system text's leading blanks stay (the turn starts
     * with "<<SYS>>"), the user text's trailing ones go. */
    check_format(RLAE_CHAT_LLAMA2, " sys ", "q \n",
                 "[INST] <<SYS>>\n sys \n<</SYS>>\n\nq [/INST]");

    check_format(RLAE_CHAT_MISTRAL, NULL, q, "[INST] What is 7 * 8? [/INST]");
    check_format(RLAE_CHAT_MISTRAL, sys, q,
                 "[INST] You are a careful math tutor.\n\nWhat is 7 * 8? [/INST]");
    check_format(RLAE_CHAT_MISTRAL, NULL, " x ", "[INST]  x  [/INST]"); /* no trimming */

    check_format(RLAE_CHAT_PLAIN, NULL, "Q: 2+2?\nA:", "Q: 2+2?\nA:");
    check_format(RLAE_CHAT_PLAIN, sys, q, "You are a careful math tutor.\n\nWhat is 7 * 8?");
    check_format(RLAE_CHAT_PLAIN, NULL, "", "");

    /* Unicode whitespace counts for trim, as in Python: NBSP (U+00A0) and ideographic space
     * (U+3000) go, a non-space multibyte character stays. */
    check_format(RLAE_CHAT_LLAMA3, NULL, "\xc2\xa0\xc3\xa9t\xc3\xa9\xe3\x80\x80",
                 "<|start_header_id|>user<|end_header_id|>\n\n\xc3\xa9t\xc3\xa9<|eot_id|>"
                 "<|start_header_id|>assistant<|end_header_id|>\n\n");

    char *out = (char *)1;
    CHECK(rlae_chat_format(RLAE_CHAT_CHATML, NULL, NULL, &out) == RLAE_ERR_INPUT);
    CHECK(out == NULL);

    CHECK_EQ_STR(rlae_chat_template_bos_text(RLAE_CHAT_LLAMA3), "<|begin_of_text|>");
    CHECK_EQ_STR(rlae_chat_template_bos_text(RLAE_CHAT_LLAMA2), "<s>");
    CHECK(rlae_chat_template_bos_text(RLAE_CHAT_CHATML) == NULL);
}

static void test_names(void)
{
    static const char *names[] = {"llama2", "llama3", "chatml", "mistral", "plain"};
    for (size_t i = 0; i < 5; i++) {
        rlae_chat_template t;
        CHECK(rlae_chat_template_from_name(names[i], &t) == RLAE_OK);
        CHECK_EQ_STR(rlae_chat_template_name(t), names[i]);
    }
    rlae_chat_template t;
    CHECK(rlae_chat_template_from_name("llama-3", &t) == RLAE_ERR_INPUT);
    CHECK(strstr(rlae_last_error(), "llama3|chatml|llama2|mistral|plain") != NULL);
}

/* Official template texts (abridged where long, markers intact). */
static const char *LLAMA3_JINJA =
    "{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
    "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n'+ message['content'] | trim + "
    "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}{{ content }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}"
    "{% endif %}";
static const char *CHATML_JINJA =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + "
    "'<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";
static const char *LLAMA2_JINJA =
    "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\\\n' + system_message + "
    "'\\\\n<</SYS>>\\\\n\\\\n' + message['content'] %}{% endif %}{% if message['role'] == 'user' %}"
    "{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}{% endif %}";
static const char *MISTRAL_JINJA =
    "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'user' %}"
    "{{ '[INST] ' + message['content'] + ' [/INST]' }}{% elif message['role'] == 'assistant' %}"
    "{{ message['content'] + eos_token}}{% endif %}{% endfor %}";

static void test_detect(void)
{
    rlae_chat_template t = RLAE_CHAT_PLAIN;
    CHECK(rlae_chat_template_detect(LLAMA3_JINJA, &t) == RLAE_OK && t == RLAE_CHAT_LLAMA3);
    CHECK(rlae_chat_template_detect(CHATML_JINJA, &t) == RLAE_OK && t == RLAE_CHAT_CHATML);
    CHECK(rlae_chat_template_detect(LLAMA2_JINJA, &t) == RLAE_OK && t == RLAE_CHAT_LLAMA2);
    CHECK(rlae_chat_template_detect(MISTRAL_JINJA, &t) == RLAE_OK && t == RLAE_CHAT_MISTRAL);
    CHECK(rlae_chat_template_detect(NULL, &t) == RLAE_OK && t == RLAE_CHAT_PLAIN);
    CHECK(rlae_chat_template_detect("{{ '<|user|>' + message['content'] }}", &t) == RLAE_ERR_INPUT);
    CHECK(strstr(rlae_last_error(), "members[i].chat_template: llama3|chatml") != NULL);
}

static char tmpdir[] = "/tmp/rlae_test_chat_XXXXXX";

static const char *write_config(const char *name, const char *json)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    fputs(json, f);
    fclose(f);
    return path;
}

/* A JSON string literal holding `s`, escaped. */
static char *json_str(const char *s)
{
    size_t n = strlen(s);
    char *o = malloc(2 * n + 3), *p = o;
    *p++ = '"';
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            *p++ = '\\';
        *p++ = *s;
    }
    *p++ = '"';
    *p = '\0';
    return o;
}

static void test_tokenizer_config(void)
{
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        exit(1);
    }
    rlae_chat_template t;
    char json[4096];
    char *l3 = json_str(LLAMA3_JINJA), *cm = json_str(CHATML_JINJA), *mi = json_str(MISTRAL_JINJA);

    snprintf(json, sizeof json, "{\"bos_token\": \"<|begin_of_text|>\", \"chat_template\": %s}", l3);
    CHECK(rlae_chat_template_from_tokenizer_config(write_config("l3.json", json), &t) == RLAE_OK);
    CHECK(t == RLAE_CHAT_LLAMA3);

    snprintf(json, sizeof json, "{\"chat_template\": %s, \"eos_token\": \"<|im_end|>\"}", cm);
    CHECK(rlae_chat_template_from_tokenizer_config(write_config("qwen.json", json), &t) == RLAE_OK);
    CHECK(t == RLAE_CHAT_CHATML);

    /* List form: the "default" entry wins wherever it is. */
    snprintf(json, sizeof json,
             "{\"chat_template\": [{\"name\": \"tool_use\", \"template\": %s}, {\"name\": \"default\", "
             "\"template\": %s}]}",
             cm, mi);
    CHECK(rlae_chat_template_from_tokenizer_config(write_config("list.json", json), &t) == RLAE_OK);
    CHECK(t == RLAE_CHAT_MISTRAL);

    CHECK(rlae_chat_template_from_tokenizer_config(write_config("none.json", "{\"bos_token\": \"<s>\"}"), &t) ==
          RLAE_OK);
    CHECK(t == RLAE_CHAT_PLAIN);
    t = RLAE_CHAT_LLAMA3;
    CHECK(rlae_chat_template_from_tokenizer_config(write_config("null.json", "{\"chat_template\": null}"), &t) ==
          RLAE_OK);
    CHECK(t == RLAE_CHAT_PLAIN);

    /* Unrecognised: the error names the file and says how to name a template. */
    const char *zephyr = write_config("zephyr.json", "{\"chat_template\": \"{% for m in messages %}<|user|>\\n{{ "
                                                     "m['content'] }}</s>{% endfor %}\"}");
    CHECK(rlae_chat_template_from_tokenizer_config(zephyr, &t) == RLAE_ERR_INPUT);
    CHECK(strstr(rlae_last_error(), zephyr) != NULL);
    CHECK(strstr(rlae_last_error(), "members[i].chat_template: llama3|chatml|llama2|mistral|plain") != NULL);

    /* Wrong type, bad JSON, missing file. */
    const char *num = write_config("num.json", "{\"chat_template\": 3}");
    CHECK(rlae_chat_template_from_tokenizer_config(num, &t) == RLAE_ERR_INPUT);
    CHECK(strstr(rlae_last_error(), num) != NULL);
    const char *bad = write_config("bad.json", "{\"chat_template\": ");
    CHECK(rlae_chat_template_from_tokenizer_config(bad, &t) == RLAE_ERR_INPUT);
    CHECK(strstr(rlae_last_error(), bad) != NULL);
    char missing[600];
    snprintf(missing, sizeof missing, "%s/absent.json", tmpdir);
    CHECK(rlae_chat_template_from_tokenizer_config(missing, &t) == RLAE_ERR_INPUT);
    CHECK(strstr(rlae_last_error(), missing) != NULL);

    free(l3);
    free(cm);
    free(mi);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    CHECK(system(cmd) == 0);
}

int main(void)
{
    test_formats();
    test_names();
    test_detect();
    test_tokenizer_config();
    return test_summary("test_chat_template");
}
