/* `rlae data check [DIR]`: loads every dataset split present under DIR with the same loaders
 * training and evaluation use, prints item counts per task and split, and reports each malformed
 * file as file:line. It keeps going after an error so one run lists every broken file; the exit
 * code is that of the worst failure (2 for bad data). */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/fs.h"
#include "envs/env.h"

static int check(const char *dir)
{
    printf("%-14s %-17s %7s  %s\n", "task", "split", "items", "source");
    int found = 0, code = 0;
    for (int i = 0; env_task_at(i); i++) {
        const env_task *t = env_task_at(i);
        for (const char *const *sp = t->splits; *sp; sp++) {
            char path[4096];
            if (!t->present(t, dir, *sp, path, sizeof path))
                continue;
            found++;
            env_items items = {0};
            rlae_status s = env_load(t, dir, *sp, 0, &items);
            if (s != RLAE_OK) {
                printf("%-14s %-17s %7s  %s\n", t->name, *sp, "ERROR", path);
                int c = cli_report("data", s);
                if (c > code)
                    code = c;
                continue;
            }
            size_t unlabeled = 0;
            for (size_t k = 0; k < items.n; k++)
                unlabeled += t->kind == ENV_ANSWER_CHOICE && items.v[k].gold_choice < 0;
            printf("%-14s %-17s %7zu  %s", t->name, *sp, items.n, path);
            if (t->shots_same_subject) {
                int subjects = 0;
                for (size_t k = 0; k < items.n; k++)
                    subjects += k == 0 || strcmp(items.v[k].subject, items.v[k - 1].subject) != 0;
                printf(" (%d subjects)", subjects);
            }
            if (unlabeled)
                printf(" (%zu without answer key: countable, not scorable)", unlabeled);
            putchar('\n');
            env_items_free(&items);
        }
    }
    if (!found) {
        fprintf(stderr,
                "rlae data: no dataset files found under %s. Expected e.g. gsm8k/test.jsonl, "
                "arc/ARC-Challenge/ARC-Challenge-Test.jsonl, mmlu/test/*.csv; run tools/fetch-data.sh %s "
                "to download them.\n",
                dir, dir);
        return 2;
    }
    printf("synthetic tasks are generated, not read: nothing to check.\n");
    if (code)
        fprintf(stderr, "rlae data: some files are malformed (see above)\n");
    return code;
}

int cmd_data(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage_error("data", "missing subcommand (check)");
    if (strcmp(argv[1], "check") != 0)
        return cli_usage_error("data", "unknown subcommand '%s'", argv[1]);
    if (argc > 3)
        return cli_usage_error("data", "too many arguments");
    const char *dir = argc == 3 ? argv[2] : getenv("RLAE_DATA_DIR");
    if (!dir || !*dir)
        return cli_usage_error("data", "no data directory: pass DIR or set RLAE_DATA_DIR "
                                       "(e.g. export RLAE_DATA_DIR=../shared/data)");
    if (!rlae_path_is_dir(dir)) {
        fprintf(stderr, "rlae data: %s is not a directory; pass the folder that holds gsm8k/, arc/, mmlu/, ... "
                        "(tools/fetch-data.sh creates it)\n", dir);
        return 2;
    }
    return check(dir);
}
