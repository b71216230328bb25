/* Built-in chat templates: the prompt text an instruction-tuned member expects for one optional
 * system message and one user message, ending with the generation prompt (the assistant header),
 * so decoding continues as the assistant's answer. rlae has no Jinja engine: the templates of the
 * common families are written out here and recognised from a tokenizer_config.json's
 * `chat_template` by distinctive markers, or named in the config (members[i].chat_template).
 *
 * Each format reproduces the official Hugging Face template's output for [system?, user] with
 * add_generation_prompt=True, except that the leading BOS token ("<s>", "<|begin_of_text|>") is left
 * out: the tokenizer adds BOS when encoding (add_bos_token), and putting it in the text as well
 * would give two. rlae_chat_template_bos_text says which BOS the official text starts with.
 *
 *   llama3   <|start_header_id|>system<|end_header_id|>\n\n{system|trim}<|eot_id|>
 *            <|start_header_id|>user<|end_header_id|>\n\n{user|trim}<|eot_id|>
 *            <|start_header_id|>assistant<|end_header_id|>\n\n        (Meta Llama 3 Instruct)
 *   chatml   <|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n
 *            <|im_start|>assistant\n                                   (Qwen, many fine-tunes)
 *   llama2   [INST] {strip("<<SYS>>\n{system}\n<</SYS>>\n\n{user}")} [/INST]   (Llama 2 Chat)
 *   mistral  [INST] {system}\n\n{user} [/INST]   (Mistral Instruct v0.1/v0.2; v0.1's template has no
 *            system role, so the system text is prepended to the user turn as later Mistral
 *            templates do)
 *   plain    {system}\n\n{user}                  (base models: no markup)
 * Lines are joined without separators; a NULL or empty system message omits its part. Llama 3.1+
 * templates add a "Cutting Knowledge Date / Today Date" preamble to the system turn, which is not
 * reproduced (it depends on the current date). */
#ifndef RLAE_TOKENIZER_CHAT_TEMPLATE_H
#define RLAE_TOKENIZER_CHAT_TEMPLATE_H

#include "core/status.h"

typedef enum {
    RLAE_CHAT_PLAIN = 0,
    RLAE_CHAT_LLAMA2,
    RLAE_CHAT_LLAMA3,
    RLAE_CHAT_CHATML,
    RLAE_CHAT_MISTRAL
} rlae_chat_template;

#define RLAE_CHAT_TEMPLATE_NAMES "llama3|chatml|llama2|mistral|plain"

/* "llama2", "llama3", "chatml", "mistral", "plain" (exact, lower case); anything else is
 * RLAE_ERR_INPUT listing the names. */
rlae_status rlae_chat_template_from_name(const char *name, rlae_chat_template *out);
const char *rlae_chat_template_name(rlae_chat_template t);

/* Recognises a Jinja chat template by its markers: "<|start_header_id|>" -> llama3, "<|im_start|>"
 * -> chatml, "[INST]" with "<<SYS>>" -> llama2, "[INST]" alone -> mistral. NULL -> plain.
 * Anything else is RLAE_ERR_INPUT saying how to name a template in the config. */
rlae_status rlae_chat_template_detect(const char *jinja, rlae_chat_template *out);

/* Reads `chat_template` from a tokenizer_config.json: a string, or a list of {name, template}
 * (the one named "default", else the first); absent or null -> plain. Errors name the file. */
rlae_status rlae_chat_template_from_tokenizer_config(const char *path, rlae_chat_template *out);

/* The prompt text for [system (NULL or "" for none), user] with the generation prompt; *out is
 * malloc'd and NUL-terminated. */
rlae_status rlae_chat_format(rlae_chat_template t, const char *system, const char *user, char **out);

/* The BOS text the official template puts first ("<s>", "<|begin_of_text|>"), NULL if none. */
const char *rlae_chat_template_bos_text(rlae_chat_template t);

#endif
