/* The rlae command: subcommand table and the helpers subcommands share.
 * Each subcommand lives in cmd_<name>.c as `int cmd_<name>(int argc, char **argv)` where argv[0] is
 * the subcommand's name; it returns the process exit code (0 ok, 1 runtime failure, 2 bad input). */
#ifndef RLAE_CLI_H
#define RLAE_CLI_H

#include "core/status.h"

typedef struct {
    const char *name;
    const char *summary; /* one line for `rlae --help` */
    const char *help;    /* full text for `rlae NAME --help` */
    int (*run)(int argc, char **argv); /* NULL: the engine behind it is not built yet */
} cli_command;

const cli_command *cli_find_command(const char *name);

/* Prints "rlae NAME: message" and the last error, returns the exit code for `s`. */
int cli_report(const char *cmd, rlae_status s);
/* Prints the command's usage to stderr with "error: <msg>" and returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the command's full help to stdout and returns 0. */
int cli_print_help(const char *cmd);
/* True if argv holds -h or --help before a "--". */
int cli_wants_help(int argc, char **argv);

int cmd_config(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_data(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_train(int argc, char **argv);
/* rlae generate CONFIG ...: called by cmd_generate when its first argument is not an option. */
int cmd_generate_ensemble(int argc, char **argv);

#endif
