/* `rlae table EXPERIMENT [--format md|csv|tex] [--metric accuracy|latency] [--by KEY] [--out DIR]`: the tables of
 * an experiment (exp/table.h) from the files its sweep wrote, on stdout. Runs that are not done are
 * shown as missing cells, with a note on stderr. */
#include "cli.h"

#include "exp/experiment.h"
#include "exp/table.h"

#include <stdio.h>
#include <string.h>

int cmd_table(int argc, char **argv)
{
    if (cli_wants_help(argc, argv))
        return cli_print_help("table");
    const char *path = NULL, *out_dir = NULL;
    rlae_table_options opt = {.format = RLAE_TABLE_MD, .metric = RLAE_TABLE_ACCURACY};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--format") || !strcmp(a, "--metric") || !strcmp(a, "--by") || !strcmp(a, "--out")) {
            if (i + 1 >= argc)
                return cli_usage_error("table", "%s needs a value", a);
            const char *v = argv[++i];
            if (!strcmp(a, "--by")) {
                opt.by = v;
            } else if (!strcmp(a, "--out")) {
                out_dir = v;
            } else if (!strcmp(a, "--format")) {
                if (!strcmp(v, "md"))
                    opt.format = RLAE_TABLE_MD;
                else if (!strcmp(v, "csv"))
                    opt.format = RLAE_TABLE_CSV;
                else if (!strcmp(v, "tex"))
                    opt.format = RLAE_TABLE_TEX;
                else
                    return cli_usage_error("table", "--format is md, csv or tex, not '%s'", v);
            } else if (!strcmp(v, "accuracy")) {
                opt.metric = RLAE_TABLE_ACCURACY;
            } else if (!strcmp(v, "latency")) {
                opt.metric = RLAE_TABLE_LATENCY;
            } else {
                return cli_usage_error("table", "--metric is accuracy or latency, not '%s'", v);
            }
        } else if (a[0] == '-') {
            return cli_usage_error("table", "unknown option '%s' (options: --format, --metric, --by, --out)", a);
        } else if (!path) {
            path = a;
        } else {
            return cli_usage_error("table", "unexpected argument '%s': give one EXPERIMENT file", a);
        }
    }
    if (!path)
        return cli_usage_error("table", "missing EXPERIMENT (a file such as experiments/main.yaml)");
    rlae_experiment *e = NULL;
    rlae_status s = rlae_experiment_load(path, out_dir, &e);
    if (s == RLAE_OK)
        s = rlae_table_write(e, &opt, stdout);
    rlae_experiment_free(e);
    return cli_report("table", s);
}
