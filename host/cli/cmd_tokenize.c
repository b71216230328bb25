/* `rlae tokenize`: encodes a text with any tokenizer rlae reads and prints the ids, or with --pieces
 * one token per line with its exact bytes. Useful to check a member's tokenizer against a reference
 * and to see how the union vocabulary will spell a token. */
#include "cli.h"
#include "tokenizer/tokenizer.h"

#include <stdio.h>
#include <string.h>

/* Prints bytes as a double-quoted string: printable ASCII as is, \" and \\ escaped, everything else
 * (controls, bytes >= 0x80) as \xNN so the exact bytes are visible. */
static void print_escaped(const uint8_t *b, size_t n)
{
    putchar('"');
    for (size_t i = 0; i < n; i++) {
        if (b[i] == '"' || b[i] == '\\')
            printf("\\%c", b[i]);
        else if (b[i] >= 0x20 && b[i] < 0x7f)
            putchar(b[i]);
        else
            printf("\\x%02x", b[i]);
    }
    putchar('"');
}

int cmd_tokenize(int argc, char **argv)
{
    const char *path = NULL, *text = NULL;
    int pieces = 0, no_bos = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--tokenizer") == 0 || strcmp(a, "--text") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error("tokenize", "%s needs a value", a);
            if (a[2] == 't' && a[3] == 'o')
                path = argv[++i];
            else
                text = argv[++i];
        } else if (strcmp(a, "--pieces") == 0)
            pieces = 1;
        else if (strcmp(a, "--no-bos") == 0)
            no_bos = 1;
        else
            return cli_usage_error("tokenize", "unknown argument '%s'", a);
    }
    if (!path)
        return cli_usage_error("tokenize", "--tokenizer PATH is required");
    if (!text)
        return cli_usage_error("tokenize", "--text TEXT is required");
    rlae_tokenizer *t = NULL;
    rlae_status s = rlae_tokenizer_load(path, &t);
    if (s != RLAE_OK)
        return cli_report("tokenize", s);
    int32_t *ids = NULL;
    size_t n = 0;
    s = rlae_tokenizer_encode(t, text, strlen(text), !no_bos && rlae_tokenizer_default_add_bos(t), &ids, &n);
    if (s != RLAE_OK) {
        rlae_tokenizer_free(t);
        return cli_report("tokenize", s);
    }
    for (size_t i = 0; i < n; i++) {
        if (pieces) {
            size_t len;
            const uint8_t *b = rlae_tokenizer_token_bytes(t, ids[i], &len);
            printf("%d\t", ids[i]);
            print_escaped(b, len);
            if (rlae_tokenizer_is_special(t, ids[i]) == 1)
                printf("\tspecial");
            putchar('\n');
        } else
            printf("%s%d", i ? " " : "", ids[i]);
    }
    if (!pieces)
        putchar('\n');
    free(ids);
    rlae_tokenizer_free(t);
    return fflush(stdout) == 0 ? 0 : 1;
}
