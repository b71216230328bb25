/* Leveled logging (see log.h). One fprintf per message so lines from threads do not interleave. */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int log_level = -1; /* -1: not yet read from the environment */
static int log_rank = -1;

static const char *level_names[] = {"error", "warn", "info", "debug"};

int rlae_log_parse_level(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

rlae_log_level rlae_log_get_level(void)
{
    if (log_level < 0) {
        const char *env = getenv("RLAE_LOG");
        int parsed = env ? rlae_log_parse_level(env) : -1;
        log_level = parsed >= 0 ? parsed : RLAE_LOG_INFO;
    }
    return (rlae_log_level)log_level;
}

void rlae_log_set_level(rlae_log_level level) { log_level = (int)level; }
void rlae_log_set_rank(int rank) { log_rank = rank; }
int rlae_log_get_rank(void) { return log_rank; }

void rlae_log(rlae_log_level level, const char *fmt, ...)
{
    if ((int)level > (int)rlae_log_get_level())
        return;
    char body[2048], line[2200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(body, sizeof body, fmt, ap);
    va_end(ap);
    const char *tag = level == RLAE_LOG_ERROR ? "error: " : level == RLAE_LOG_WARN ? "warning: " : "";
    if (log_rank >= 0)
        snprintf(line, sizeof line, "rlae[rank %d]: %s%s\n", log_rank, tag, body);
    else
        snprintf(line, sizeof line, "rlae: %s%s\n", tag, body);
    fputs(line, stderr);
}
