/* Running an experiment's plan as child processes (sweep.h): scheduling with dependencies, one
 * process group per child, logs, done markers with the child's resource use, failures reported at
 * the end, signals passed on once. */
#define _GNU_SOURCE
#include "exp/sweep.h"

#include "core/fs.h"
#include "core/progress.h"
#include "core/timer.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Set from the signal handler: the signal to forward (0: none yet). */
static volatile sig_atomic_t stop_signal;
/* Children's pids for the handler (one per slot, 0 = free). */
static volatile pid_t child_pids[RLAE_SWEEP_MAX_JOBS];

void rlae_sweep_request_stop(int sig)
{
    stop_signal = sig ? sig : SIGINT;
    for (int i = 0; i < RLAE_SWEEP_MAX_JOBS; i++)
        if (child_pids[i] > 0)
            kill(-child_pids[i], stop_signal); /* the child's process group */
}

typedef enum { ST_WAITING = 0, ST_RUNNING, ST_DONE, ST_FAILED } run_state;

typedef struct {
    pid_t pid;
    int run;
    double start;
} slot;

static void print_argv(FILE *f, char **argv)
{
    for (int i = 0; argv && argv[i]; i++)
        fprintf(f, "%s%s", i ? " " : "", argv[i]);
}

void rlae_sweep_print_plan(const rlae_experiment *e, FILE *out)
{
    int count[4] = {0};
    fprintf(out, "experiment %s: %d runs (%d methods x %d tasks x %d seeds x %d grid points, plus agent "
            "training) in %s\n", e->name, e->n_runs, e->n_methods, e->n_tasks, e->n_seeds, e->n_points, e->out_dir);
    for (int i = 0; i < e->n_runs; i++) {
        const exp_run *r = &e->runs[i];
        count[r->status]++;
        fprintf(out, "%-8s %s  ", rlae_experiment_status_name(r->status), r->id);
        if (r->status == EXP_INVALID) {
            fprintf(out, "error: %s\n", r->error);
            continue;
        }
        char **argv = rlae_experiment_run_argv(e, i);
        print_argv(out, argv);
        rlae_experiment_argv_free(argv);
        if (r->depends >= 0 && e->runs[r->depends].status != EXP_DONE)
            fprintf(out, "  (after %s)", e->runs[r->depends].id);
        fputc('\n', out);
    }
    fprintf(out, "%d done, %d partial, %d pending, %d invalid\n", count[EXP_DONE], count[EXP_PARTIAL],
            count[EXP_PENDING], count[EXP_INVALID]);
}

/* The done marker: what ran and what it cost (wall and CPU seconds of the child, peak memory). */
static rlae_status write_marker(const rlae_experiment *e, int i, char **argv, double wall, const struct rusage *ru)
{
    const exp_run *r = &e->runs[i];
    char *cmd = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&cmd, &len);
    if (!f)
        return RLAE_ERR_NOMEM;
    print_argv(f, argv);
    fclose(f);
    double user = (double)ru->ru_utime.tv_sec + 1e-6 * (double)ru->ru_utime.tv_usec;
    double sys = (double)ru->ru_stime.tv_sec + 1e-6 * (double)ru->ru_stime.tv_usec;
    json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:f, s:f, s:f, s:I, s:I}", "id", r->id, "kind",
                          r->kind == EXP_RUN_TRAIN ? "train" : "eval", "method", e->methods[r->method].label, "task",
                          e->tasks[r->task].name, "seed", e->seeds[r->seed_index], "command", cmd ? cmd : "",
                          "wall_s", wall, "user_s", user, "sys_s", sys, "max_rss_kb", (json_int_t)ru->ru_maxrss,
                          "finished_unix", (json_int_t)time(NULL));
    free(cmd);
    char *text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
    json_decref(j);
    char *path = rlae_experiment_run_file(e, i, RLAE_EXP_DONE_MARKER);
    rlae_status s = text && path ? rlae_write_file_atomic(path, text, strlen(text)) : RLAE_ERR_NOMEM;
    free(text);
    free(path);
    return s;
}

/* Prepares the run directory (run.yaml) and starts the child. */
static rlae_status launch(const rlae_experiment *e, int i, const rlae_sweep_options *opt, int gpu, int threads,
                          char **argv, pid_t *pid)
{
    const exp_run *r = &e->runs[i];
    RLAE_TRY(rlae_mkdir_p(r->dir));
    char *cfg = rlae_experiment_run_file(e, i, RLAE_EXP_RUN_CONFIG);
    char *logp = rlae_experiment_run_file(e, i, RLAE_EXP_RUN_LOG);
    rlae_status s = cfg && logp ? rlae_write_file_atomic(cfg, r->yaml, strlen(r->yaml)) : RLAE_ERR_NOMEM;
    int fd = -1;
    if (s == RLAE_OK && (fd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0)
        s = rlae_fail(RLAE_ERR_IO, "%s: cannot open the run's log: %s", logp, strerror(errno));
    free(cfg);
    free(logp);
    if (s != RLAE_OK)
        return s;
    FILE *lf = fdopen(dup(fd), "a");
    if (lf) {
        time_t now = time(NULL);
        char when[64];
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
        fprintf(lf, "=== %s rlae sweep %s: ", when, e->path);
        print_argv(lf, argv);
        if (gpu >= 0)
            fprintf(lf, " (CUDA_VISIBLE_DEVICES=%d)", gpu);
        fputc('\n', lf);
        fclose(lf);
    }
    const char *exe = opt->exe ? opt->exe : "/proc/self/exe";
    fflush(NULL);
    pid_t p = fork();
    if (p < 0) {
        close(fd);
        return rlae_fail(RLAE_ERR_RUNTIME, "sweep: fork failed: %s", strerror(errno));
    }
    if (p == 0) {
        setpgid(0, 0); /* its own group: a terminal's Ctrl-C reaches it once, through the sweep */
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        dup2(fd, 1);
        dup2(fd, 2);
        int nul = open("/dev/null", O_RDONLY);
        if (nul >= 0)
            dup2(nul, 0);
        if (threads > 0) { /* concurrent runs share the cores instead of oversubscribing them */
            char t[16];
            snprintf(t, sizeof t, "%d", threads);
            setenv("OMP_NUM_THREADS", t, 1);
        }
        if (gpu >= 0) {
            char g[16];
            snprintf(g, sizeof g, "%d", gpu);
            setenv("CUDA_VISIBLE_DEVICES", g, 1);
        }
        execv(exe, argv);
        fprintf(stderr, "rlae sweep: cannot run %s: %s\n", exe, strerror(errno));
        _exit(127);
    }
    setpgid(p, p); /* also here, so a signal sent right after fork reaches the group */
    close(fd);
    *pid = p;
    return RLAE_OK;
}

/* The last non-empty line of a run's log, for the failure report. */
static void last_log_line(const rlae_experiment *e, int i, char *buf, size_t cap)
{
    buf[0] = '\0';
    char *path = rlae_experiment_run_file(e, i, RLAE_EXP_RUN_LOG);
    char *text = NULL;
    size_t len = 0;
    if (path && rlae_read_file(path, &text, &len) == RLAE_OK) {
        while (len && (text[len - 1] == '\n' || text[len - 1] == ' '))
            text[--len] = '\0';
        char *nl = strrchr(text, '\n');
        snprintf(buf, cap, "%s", nl ? nl + 1 : text);
    }
    free(text);
    free(path);
}

typedef struct {
    rlae_experiment *e;
    const rlae_sweep_options *opt;
    run_state *state;
    char **why; /* failure reasons */
    int started;
} sched;

static void fail_run(sched *S, int i, const char *fmt, const char *arg)
{
    S->state[i] = ST_FAILED;
    char msg[1024];
    snprintf(msg, sizeof msg, fmt, arg);
    free(S->why[i]);
    S->why[i] = rlae_strdup(msg);
}

/* Next run that may start now, or -1. Runs whose dependency failed fail here. */
static int next_runnable(sched *S)
{
    rlae_experiment *e = S->e;
    for (int i = 0; i < e->n_runs; i++) {
        if (S->state[i] != ST_WAITING)
            continue;
        int d = e->runs[i].depends;
        if (d >= 0 && S->state[d] == ST_FAILED) {
            fail_run(S, i, "its training run %s failed", e->runs[d].id);
            continue;
        }
        if (d >= 0 && S->state[d] != ST_DONE)
            continue;
        return i;
    }
    return -1;
}

rlae_status rlae_sweep_run(rlae_experiment *e, const rlae_sweep_options *opt, rlae_sweep_result *res)
{
    memset(res, 0, sizeof *res);
    int jobs = opt->gpus ? opt->n_gpus : opt->jobs;
    if (jobs < 1 || jobs > RLAE_SWEEP_MAX_JOBS)
        return rlae_fail(RLAE_ERR_INPUT, "sweep: jobs must be 1..%d", RLAE_SWEEP_MAX_JOBS);
    stop_signal = 0;
    /* OMP_NUM_THREADS of each child when the user set none: the cores divided among the jobs */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = getenv("OMP_NUM_THREADS") || jobs == 1 ? 0 : (int)(cores / jobs > 1 ? cores / jobs : 1);
    sched S = {.e = e, .opt = opt};
    S.state = rlae_calloc((size_t)e->n_runs, sizeof *S.state);
    S.why = rlae_calloc((size_t)e->n_runs, sizeof *S.why);
    slot *slots = rlae_calloc((size_t)jobs, sizeof *slots);
    if (!S.state || !S.why || !slots) {
        free(S.state);
        free(S.why);
        free(slots);
        return RLAE_ERR_NOMEM;
    }
    int to_run = 0;
    res->total = e->n_runs;
    char *counted = rlae_calloc((size_t)e->n_runs, 1); /* runs this sweep has to bring to an end */
    if (!counted) {
        free(S.state);
        free(S.why);
        free(slots);
        return RLAE_ERR_NOMEM;
    }
    for (int i = 0; i < e->n_runs; i++) {
        rlae_experiment_run_status(e, i);
        if (e->runs[i].status == EXP_DONE) {
            S.state[i] = ST_DONE;
            res->already_done++;
        } else if (e->runs[i].status == EXP_INVALID) {
            fail_run(&S, i, "%s", e->runs[i].error);
        } else {
            to_run++;
            counted[i] = 1;
        }
    }
    FILE *out = opt->out;
    if (out) {
        fprintf(out, "sweep %s: %d runs, %d done, %d to run, %d jobs%s\n", e->name, e->n_runs, res->already_done,
                to_run, jobs, opt->gpus ? " (one per GPU)" : "");
        fflush(out);
    }
    rlae_progress prog;
    rlae_progress_init(&prog, to_run ? opt->progress : NULL, "sweep", opt->max_runs && opt->max_runs < to_run ? opt->max_runs : to_run);
    int active = 0, finished = 0;
    rlae_status s = RLAE_OK;
    for (;;) {
        /* start what may start */
        while (!stop_signal && s == RLAE_OK && active < jobs && (!opt->max_runs || S.started < opt->max_runs)) {
            int i = next_runnable(&S);
            if (i < 0)
                break;
            int k = 0;
            while (slots[k].pid)
                k++;
            char **argv = rlae_experiment_run_argv(e, i);
            if (!argv) {
                s = RLAE_ERR_NOMEM;
                break;
            }
            if (out) {
                fprintf(out, "start %s (%s): ", e->runs[i].id, rlae_experiment_status_name(e->runs[i].status));
                print_argv(out, argv);
                fputc('\n', out);
                fflush(out);
            }
            pid_t pid = 0;
            rlae_status ls = launch(e, i, opt, opt->gpus ? opt->gpus[k] : -1, threads, argv, &pid);
            rlae_experiment_argv_free(argv);
            if (ls != RLAE_OK) {
                fail_run(&S, i, "%s", rlae_last_error());
                finished++;
                rlae_progress_update(&prog, finished);
                continue;
            }
            slots[k] = (slot){.pid = pid, .run = i, .start = rlae_time_now()};
            child_pids[k] = pid;
            if (stop_signal) /* a signal between the check above and the pid being visible */
                kill(-pid, stop_signal);
            S.state[i] = ST_RUNNING;
            S.started++;
            active++;
        }
        if (active == 0)
            break;
        int status = 0;
        struct rusage ru;
        pid_t pid = wait4(-1, &status, 0, &ru);
        if (pid < 0) {
            if (errno == EINTR)
                continue;
            s = rlae_fail(RLAE_ERR_RUNTIME, "sweep: wait failed: %s", strerror(errno));
            break;
        }
        int k = 0;
        while (k < jobs && slots[k].pid != pid)
            k++;
        if (k == jobs)
            continue; /* not ours */
        int i = slots[k].run;
        double wall = rlae_time_now() - slots[k].start;
        child_pids[k] = 0;
        slots[k].pid = 0;
        active--;
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        char **argv = rlae_experiment_run_argv(e, i);
        if (code == 0) {
            rlae_status ms = argv ? write_marker(e, i, argv, wall, &ru) : RLAE_ERR_NOMEM;
            if (ms == RLAE_OK) {
                S.state[i] = ST_DONE;
                res->ran++;
                if (out)
                    fprintf(out, "done  %s in %.1fs\n", e->runs[i].id, wall);
            } else {
                fail_run(&S, i, "cannot write the done marker: %s", rlae_last_error());
            }
        } else if (stop_signal && (code == 130 || code == 128 + SIGINT || code == 128 + SIGTERM || code == 143)) {
            S.state[i] = ST_WAITING; /* interrupted on request: partial, resumed by the next sweep */
            if (out)
                fprintf(out, "stopped %s after %.1fs (%s next time)\n", e->runs[i].id, wall,
                        e->runs[i].kind == EXP_RUN_TRAIN ? "resumes from its checkpoint" : "runs again");
        } else {
            char last[512], reason[700];
            last_log_line(e, i, last, sizeof last);
            snprintf(reason, sizeof reason, "exit %d: %s", code, last);
            fail_run(&S, i, "%s", reason);
            if (out)
                fprintf(out, "FAILED %s (exit %d) after %.1fs\n", e->runs[i].id, code, wall);
        }
        rlae_experiment_argv_free(argv);
        if (out)
            fflush(out);
        rlae_experiment_run_status(e, i);
        int nfail = 0;
        finished = 0;
        for (int j = 0; j < e->n_runs; j++) {
            nfail += S.state[j] == ST_FAILED;
            finished += counted[j] && (S.state[j] == ST_FAILED || S.state[j] == ST_DONE);
        }
        rlae_progress_set_note(&prog, "running %d, failed %d", active, nfail);
        rlae_progress_update(&prog, finished);
    }
    rlae_progress_finish(&prog);
    /* what is left: waiting runs whose dependency failed count as failed, not as pending */
    for (int i = 0; i < e->n_runs; i++)
        if (S.state[i] == ST_WAITING && e->runs[i].depends >= 0 && S.state[e->runs[i].depends] == ST_FAILED)
            fail_run(&S, i, "its training run %s failed", e->runs[e->runs[i].depends].id);
    for (int i = 0; i < e->n_runs; i++) {
        res->failed += S.state[i] == ST_FAILED;
        res->remaining += S.state[i] != ST_DONE;
    }
    res->interrupted = stop_signal != 0;
    if (out) {
        fprintf(out, "sweep %s: %d runs: %d were done, %d ran, %d failed, %d not done\n", e->name, res->total,
                res->already_done, res->ran, res->failed, res->remaining);
        for (int i = 0; i < e->n_runs; i++)
            if (S.state[i] == ST_FAILED)
                fprintf(out, "  failed: %s: %s (log: %s/%s)\n", e->runs[i].id, S.why[i] ? S.why[i] : "",
                        e->runs[i].dir, RLAE_EXP_RUN_LOG);
        fflush(out);
    }
    for (int i = 0; i < e->n_runs; i++)
        free(S.why[i]);
    free(S.why);
    free(S.state);
    free(slots);
    free(counted);
    if (s != RLAE_OK)
        return s;
    if (res->interrupted)
        return rlae_fail(RLAE_ERR_INTERRUPTED, "sweep stopped by a signal; %d runs not done: run the same "
                         "command again to finish them", res->remaining);
    if (res->failed)
        return rlae_fail(RLAE_ERR_RUNTIME, "%d of %d runs failed (listed above)", res->failed, res->total);
    if (res->remaining && out) /* only --max-runs leaves runs unstarted without a failure */
        fprintf(out, "sweep %s: %d runs not started (--max-runs %d); run the sweep again for the rest\n", e->name,
                res->remaining, opt->max_runs);
    return RLAE_OK;
}
