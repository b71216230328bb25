/* Small helpers over jansson shared by every JSON reader (config.json, safetensors headers,
 * tokenizer.json), so their error messages describe values the same way. */
#ifndef RLAE_CORE_JSON_UTIL_H
#define RLAE_CORE_JSON_UTIL_H

#include <jansson.h>

/* "an object", "an array", "a string", "an integer", "a real number", "a boolean", "null". */
const char *rlae_json_type_name(const json_t *v);

#endif
