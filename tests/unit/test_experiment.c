/* Unit tests of host/exp/experiment.c: the plan an experiment file expands into (runs per method,
 * task, seed and grid point; agents' training runs and their dependants), ids that depend on the
 * resolved config and not on list order, the config each run will actually run with (loaded back),
 * grid point arithmetic, invalid runs, run status from the directory, and errors naming
 * file:line:column. */
#include "config/config.h"
#include "core/fs.h"
#include "exp/experiment.h"
#include "test.h"

#include <unistd.h>

static char tmpdir[256];

static const char *write_file(const char *name, const char *text)
{
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "w");
    if (!f) {
        perror(p);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
    return p;
}

static const char *EXP_HEAD = "models: models.yaml\n"
                              "tasks:\n"
                              "  add: {config: task.yaml, overrides: {task.synthetic.skills: [addition]}}\n"
                              "  copy: {config: task.yaml, overrides: {task.synthetic.skills: [copy]}}\n"
                              "methods: [single, uniform, rlae_ppo]\n";

static int find(const rlae_experiment *e, exp_run_kind kind, const char *method, const char *task, int seed,
                const char *span)
{
    for (int i = 0; i < e->n_runs; i++) {
        const exp_run *r = &e->runs[i];
        if (r->kind == kind && !strcmp(e->methods[r->method].label, method) && !strcmp(e->tasks[r->task].name, task) &&
            e->seeds[r->seed_index] == seed && !strcmp(rlae_experiment_point_value(e, r->point, 0), span))
            return i;
    }
    return -1;
}

static void test_plan(void)
{
    char text[2048], out[512];
    snprintf(out, sizeof out, "%s/out", tmpdir);
    snprintf(text, sizeof text, "%sseeds: [1, 2]\ngrid:\n  ensemble.span: [4, 8]\n", EXP_HEAD);
    const char *path = write_file("exp.yaml", text);
    rlae_experiment *e = NULL;
    rlae_status s = rlae_experiment_load(path, out, &e);
    CHECK_MSG(s == RLAE_OK, "load: %s", rlae_last_error());
    if (s != RLAE_OK)
        return;
    /* methods: single:a, single:b, uniform, rlae_ppo; 4 x 2 tasks x 2 seeds x 2 spans evaluations plus
     * one training run per (task, seed, span) for the agent */
    CHECK_EQ_INT(e->n_methods, 4);
    CHECK_EQ_STR(e->methods[0].label, "single:a");
    CHECK_EQ_STR(e->methods[1].label, "single:b");
    CHECK_EQ_INT(e->n_points, 2);
    CHECK_EQ_INT(e->n_runs, 32 + 8);
    int trains = 0;
    for (int i = 0; i < e->n_runs; i++) {
        const exp_run *r = &e->runs[i];
        CHECK_EQ_INT(r->status, EXP_PENDING);
        trains += r->kind == EXP_RUN_TRAIN;
        if (r->kind == EXP_RUN_EVAL && e->methods[r->method].agent) {
            CHECK(r->depends >= 0 && r->depends < i);
            if (r->depends >= 0) {
                const exp_run *t = &e->runs[r->depends];
                CHECK(t->kind == EXP_RUN_TRAIN && t->task == r->task && t->seed_index == r->seed_index &&
                      t->point == r->point);
            }
        } else {
            CHECK_EQ_INT(r->depends, -1);
        }
        /* the directory is <out>/runs/<id> and the id starts with the slug */
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/runs/%s", out, r->id);
        CHECK_EQ_STR(r->dir, dir);
    }
    CHECK_EQ_INT(trains, 8);
    /* the config each run runs with, loaded back */
    int u = find(e, EXP_RUN_EVAL, "uniform", "copy", 2, "8");
    int a = find(e, EXP_RUN_EVAL, "rlae_ppo", "add", 1, "4");
    int sa = find(e, EXP_RUN_EVAL, "single:b", "add", 1, "4");
    CHECK(u >= 0 && a >= 0 && sa >= 0);
    if (u >= 0 && a >= 0 && sa >= 0) {
        CHECK(!strncmp(e->runs[u].id, "uniform-copy-s2-span8-", 22) && strlen(e->runs[u].id) == 22 + 10);
        rlae_config c;
        CHECK_EQ_INT(rlae_config_load_string(e->runs[u].yaml, "run.yaml", 0, NULL, &c), RLAE_OK);
        CHECK_EQ_INT(c.ensemble.policy, RLAE_POLICY_UNIFORM);
        CHECK_EQ_INT(c.run.seed, 2);
        CHECK_EQ_INT(c.ensemble.span, 8);
        CHECK_EQ_INT(c.n_members, 2);
        CHECK(c.task.synthetic.skills.n == 1 && !strcmp(c.task.synthetic.skills.items[0], "copy"));
        CHECK_EQ_STR(c.run.out_dir, e->runs[u].dir);
        rlae_config_free(&c);
        CHECK_EQ_INT(rlae_config_load_string(e->runs[a].yaml, "run.yaml", 0, NULL, &c), RLAE_OK);
        CHECK_EQ_INT(c.ensemble.policy, RLAE_POLICY_AGENT);
        CHECK_EQ_INT(c.algorithm.name, RLAE_ALGO_PPO);
        CHECK_EQ_INT(c.ensemble.span, 4);
        rlae_config_free(&c);
        CHECK_EQ_INT(rlae_config_load_string(e->runs[sa].yaml, "run.yaml", 0, NULL, &c), RLAE_OK);
        CHECK_EQ_INT(c.ensemble.policy, RLAE_POLICY_SINGLE);
        CHECK_EQ_STR(c.ensemble.single_member, "b");
        rlae_config_free(&c);
        /* commands: an agent is evaluated from its training run's directory */
        char **argv = rlae_experiment_run_argv(e, a);
        CHECK(argv && !strcmp(argv[1], "eval") && !strcmp(argv[3], "--method"));
        if (argv) {
            char want[1200];
            snprintf(want, sizeof want, "agent:%s", e->runs[e->runs[a].depends].dir);
            CHECK_EQ_STR(argv[4], want);
        }
        rlae_experiment_argv_free(argv);
        argv = rlae_experiment_run_argv(e, e->runs[a].depends);
        CHECK(argv && !strcmp(argv[1], "train") && strstr(argv[2], "/run.yaml") && !argv[3]);
        rlae_experiment_argv_free(argv);
    }
    /* ids depend on the configs, not on the order of the lists */
    char id_u[256] = "", id_a[256] = "";
    if (u >= 0 && a >= 0) {
        snprintf(id_u, sizeof id_u, "%s", e->runs[u].id);
        snprintf(id_a, sizeof id_a, "%s", e->runs[a].id);
    }
    rlae_experiment_free(e);
    snprintf(text, sizeof text, "%sseeds: [2, 1]\ngrid:\n  ensemble.span: [8, 4]\n", EXP_HEAD);
    path = write_file("exp2.yaml", text);
    CHECK_EQ_INT(rlae_experiment_load(path, out, &e), RLAE_OK);
    if (e) {
        u = find(e, EXP_RUN_EVAL, "uniform", "copy", 2, "8");
        a = find(e, EXP_RUN_EVAL, "rlae_ppo", "add", 1, "4");
        CHECK(u >= 0 && !strcmp(e->runs[u].id, id_u));
        CHECK(a >= 0 && !strcmp(e->runs[a].id, id_a));
        rlae_experiment_free(e);
    }
    /* a changed setting changes the ids */
    snprintf(text, sizeof text, "%sseeds: [1, 2]\ngrid:\n  ensemble.span: [4, 8]\noverrides: {task.limit: 7}\n",
             EXP_HEAD);
    path = write_file("exp3.yaml", text);
    CHECK_EQ_INT(rlae_experiment_load(path, out, &e), RLAE_OK);
    if (e) {
        u = find(e, EXP_RUN_EVAL, "uniform", "copy", 2, "8");
        CHECK(u >= 0 && strcmp(e->runs[u].id, id_u) != 0);
        rlae_experiment_free(e);
    }
}

static void test_grid_and_status(void)
{
    char text[2048], out[512];
    snprintf(out, sizeof out, "%s/out2", tmpdir);
    snprintf(text, sizeof text, "%sgrid:\n  ensemble.span: [4, 0, 16]\n  ensemble.topk: [2, 3]\n", EXP_HEAD);
    rlae_experiment *e = NULL;
    CHECK_EQ_INT(rlae_experiment_load(write_file("grid.yaml", text), out, &e), RLAE_OK);
    if (!e)
        return;
    CHECK_EQ_INT(e->n_points, 6);
    /* the last key varies fastest */
    static const char *want[6][2] = {{"4", "2"}, {"4", "3"}, {"0", "2"}, {"0", "3"}, {"16", "2"}, {"16", "3"}};
    for (int p = 0; p < 6; p++) {
        CHECK_EQ_STR(rlae_experiment_point_value(e, p, 0), want[p][0]);
        CHECK_EQ_STR(rlae_experiment_point_value(e, p, 1), want[p][1]);
    }
    int invalid = 0, first_ok = -1;
    for (int i = 0; i < e->n_runs; i++) {
        const exp_run *r = &e->runs[i];
        int zero = !strcmp(rlae_experiment_point_value(e, r->point, 0), "0");
        CHECK_EQ_INT(r->status == EXP_INVALID, zero);
        if (zero) {
            invalid++;
            CHECK(r->error && strstr(r->error, "ensemble.span") && !r->yaml);
        } else if (first_ok < 0) {
            first_ok = i;
        }
    }
    CHECK_EQ_INT(invalid, e->n_runs / 3);
    /* status from the directory: partial once it exists, done with the marker */
    if (first_ok >= 0) {
        CHECK_EQ_INT(rlae_mkdir_p(e->runs[first_ok].dir), RLAE_OK);
        rlae_experiment_run_status(e, first_ok);
        CHECK_EQ_INT(e->runs[first_ok].status, EXP_PARTIAL);
        char *m = rlae_experiment_run_file(e, first_ok, RLAE_EXP_DONE_MARKER);
        CHECK_EQ_INT(rlae_write_file_atomic(m, "{}", 2), RLAE_OK);
        free(m);
        rlae_experiment_run_status(e, first_ok);
        CHECK_EQ_INT(e->runs[first_ok].status, EXP_DONE);
    }
    rlae_experiment_free(e);
}

static void expect_error(const char *name, const char *text, const char *where, const char *what)
{
    rlae_experiment *e = NULL;
    rlae_status s = rlae_experiment_load(write_file(name, text), NULL, &e);
    CHECK_MSG(s == RLAE_ERR_INPUT && e == NULL, "%s: expected an input error, got %d", name, (int)s);
    char full[600];
    snprintf(full, sizeof full, "%s/%s", tmpdir, where);
    CHECK_MSG(strstr(rlae_last_error(), full) && strstr(rlae_last_error(), what), "%s: message '%s' lacks '%s' / '%s'",
              name, rlae_last_error(), full, what);
    rlae_experiment_free(e);
}

static void test_errors(void)
{
    char text[2048];
    snprintf(text, sizeof text, "%sseed: [1]\n", EXP_HEAD);
    expect_error("e1.yaml", text, "e1.yaml:6:1:", "did you mean 'seeds'");
    expect_error("e2.yaml", "models: models.yaml\ntasks: {a: task.yaml}\nmethods: [uniform, single:c]\n", "e2.yaml:3:20:",
                 "no member named 'c'");
    expect_error("e3.yaml", "models: models.yaml\ntasks: {a: task.yaml}\nmethods: [uniform]\nseeds: [1, 2, 1]\n",
                 "e3.yaml:4:15:", "listed twice");
    expect_error("e4.yaml", "models: models.yaml\ntasks: {a: nothere.yaml}\nmethods: [uniform]\n", "e4.yaml:2:12:",
                 "no config file");
    expect_error("e5.yaml", "models: models.yaml\ntasks: {a: task.yaml}\nmethods: [uniform]\ngrid: {ensemble.span: 4}\n",
                 "e5.yaml:4:23:", "non-empty list");
    expect_error("e6.yaml", "models: models.yaml\ntasks: {a: task.yaml}\nmethods: [uniform]\ntrain_task: b\n",
                 "e6.yaml:4:13:", "train_task");
    write_file("models_bad.yaml", "members:\n  - name: a\n    path: x\nensemble: {span: 4}\n");
    expect_error("e7.yaml", "models: models_bad.yaml\ntasks: {a: task.yaml}\nmethods: [uniform]\n", "models_bad.yaml:4:1:",
                 "members: only");
    expect_error("e8.yaml", "models: models.yaml\ntasks: {a: task.yaml}\nmethods: [uniform\n", "e8.yaml:", "");
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/rlae-test-experiment-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    write_file("models.yaml", "members:\n  - name: a\n    path: models/a\n  - name: b\n    path: models/b\n");
    write_file("task.yaml", "task:\n  name: synthetic\n  limit: 5\n");
    test_plan();
    test_grid_and_status();
    test_errors();
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return test_summary("test_experiment");
}
