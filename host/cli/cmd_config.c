/* `rlae config show|doc`: the user's window onto host/config. show resolves a config (base chain,
 * overrides, defaults) and prints it as YAML that loads back to the same config; doc prints the key
 * reference generated from the schema (docs/config.md is this output with --format md). */
#include "cli.h"
#include "config/config.h"

#include <stdio.h>
#include <string.h>

static int config_show(int argc, char **argv)
{
    /* argv[0] = "show"; then CONFIG and overrides, in any order relative to a leading "--". */
    const char *path = NULL;
    char *overrides[256];
    int n_overrides = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            continue;
        if (a[0] == '-' && a[1])
            return cli_usage_error("config", "unknown option '%s' for `config show`", a);
        if (!path && !strchr(a, '='))
            path = a;
        else if (!strchr(a, '='))
            return cli_usage_error("config", "unexpected argument '%s': overrides are key.sub=value", a);
        else if (n_overrides == (int)(sizeof overrides / sizeof overrides[0]))
            return cli_usage_error("config", "too many overrides (at most %d)",
                                   (int)(sizeof overrides / sizeof overrides[0]));
        else
            overrides[n_overrides++] = argv[i];
    }
    if (!path)
        return cli_usage_error("config", "`config show` needs a CONFIG file");
    rlae_config cfg;
    rlae_status s = rlae_config_load(path, n_overrides, overrides, &cfg);
    if (s != RLAE_OK)
        return cli_report("config", s);
    s = rlae_config_write_yaml(&cfg, stdout);
    rlae_config_free(&cfg);
    if (s == RLAE_OK && fflush(stdout) != 0)
        s = rlae_fail(RLAE_ERR_IO, "writing to standard output failed");
    return cli_report("config", s);
}

static int config_doc(int argc, char **argv)
{
    int markdown = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *fmt = NULL;
        if (strcmp(a, "--format") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error("config", "--format needs md or text");
            fmt = argv[++i];
        } else if (strncmp(a, "--format=", 9) == 0) {
            fmt = a + 9;
        } else {
            return cli_usage_error("config", "unexpected argument '%s' for `config doc`", a);
        }
        if (strcmp(fmt, "md") == 0 || strcmp(fmt, "markdown") == 0)
            markdown = 1;
        else if (strcmp(fmt, "text") == 0)
            markdown = 0;
        else
            return cli_usage_error("config", "unknown format '%s' (expected md or text)", fmt);
    }
    rlae_status s = rlae_config_write_doc(stdout, markdown);
    if (s == RLAE_OK && fflush(stdout) != 0)
        s = rlae_fail(RLAE_ERR_IO, "writing to standard output failed");
    return cli_report("config", s);
}

int cmd_config(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("config", "missing subcommand: show or doc");
    if (strcmp(argv[1], "show") == 0)
        return config_show(argc - 1, argv + 1);
    if (strcmp(argv[1], "doc") == 0)
        return config_doc(argc - 1, argv + 1);
    return cli_usage_error("config", "unknown subcommand '%s' (expected show or doc)", argv[1]);
}
