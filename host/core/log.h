/* Leveled logging to stderr. The level comes from RLAE_LOG (error|warn|info|debug) or the CLI's
 * --verbose/--quiet; messages carry the rank once a multi-process run sets it. */
#ifndef RLAE_CORE_LOG_H
#define RLAE_CORE_LOG_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { RLAE_LOG_ERROR = 0, RLAE_LOG_WARN, RLAE_LOG_INFO, RLAE_LOG_DEBUG } rlae_log_level;

void rlae_log_set_level(rlae_log_level level);
rlae_log_level rlae_log_get_level(void);
/* Parses "error", "warn", "info", "debug"; returns -1 for anything else. */
int rlae_log_parse_level(const char *name);
/* Rank shown in every line once set (>= 0); -1 hides it. */
void rlae_log_set_rank(int rank);
int rlae_log_get_rank(void);
void rlae_log(rlae_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define rlae_error(...) rlae_log(RLAE_LOG_ERROR, __VA_ARGS__)
#define rlae_warn(...) rlae_log(RLAE_LOG_WARN, __VA_ARGS__)
#define rlae_info(...) rlae_log(RLAE_LOG_INFO, __VA_ARGS__)
#define rlae_debug(...) rlae_log(RLAE_LOG_DEBUG, __VA_ARGS__)

#ifdef __cplusplus
}
#endif

#endif
