/* Unit tests of host/config: defaults, every error kind (each message must name file:line:column or
 * the override, and the key path), base: inheritance, overrides, the show -> load round trip, the
 * shipped configs, and that docs/config.md is what `rlae config doc --format md` generates.
 * Fixtures are written to a fresh temporary directory so each case reads next to its YAML. */
#include "config/config.h"
#include "config/config_internal.h"
#include "test.h"

#include <dirent.h>
#include <unistd.h>

static char tmpdir[256];

static const char *write_file(const char *name, const char *text)
{
    static char paths[8][512];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    /* allow names in subdirectories */
    char dir[512];
    snprintf(dir, sizeof dir, "%s", p);
    char *slash = strrchr(dir, '/');
    if (slash && slash > dir + strlen(tmpdir)) {
        *slash = '\0';
        mkdir(dir, 0755);
    }
    FILE *f = fopen(p, "w");
    if (!f) {
        perror(p);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
    return p;
}

static int contains(const char *hay, const char *needle) { return strstr(hay, needle) != NULL; }

#define MIN_MEMBERS "members:\n  - name: a\n    path: p\n"

/* Loads `yaml` written as `name` and checks it fails with RLAE_ERR_INPUT and a message holding
 * every non-NULL fragment. */
static void expect_error_at(int line, const char *name, const char *yaml, int n_ov, char **ov,
                            const char *f1, const char *f2, const char *f3)
{
    const char *path = write_file(name, yaml);
    rlae_config c;
    rlae_clear_error();
    rlae_status s = rlae_config_load(path, n_ov, ov, &c);
    const char *msg = rlae_last_error();
    test_checks_++;
    if (s != RLAE_ERR_INPUT) {
        test_failures_++;
        fprintf(stderr, "test_config.c:%d: %s: expected RLAE_ERR_INPUT, got %s (%s)\n", line, name,
                rlae_status_name(s), msg);
        if (s == RLAE_OK)
            rlae_config_free(&c);
        return;
    }
    const char *frags[3] = {f1, f2, f3};
    for (int i = 0; i < 3; i++)
        if (frags[i] && !contains(msg, frags[i])) {
            test_failures_++;
            fprintf(stderr, "test_config.c:%d: %s: message lacks \"%s\":\n  %s\n", line, name, frags[i],
                    msg);
        }
}
#define EXPECT_ERROR(name, yaml, f1, f2, f3) expect_error_at(__LINE__, name, yaml, 0, NULL, f1, f2, f3)
#define EXPECT_OV_ERROR(name, yaml, ov, f1, f2, f3)                                               \
    do {                                                                                          \
        char *ov_[] = {ov};                                                                       \
        expect_error_at(__LINE__, name, yaml, 1, ov_, f1, f2, f3);                                \
    } while (0)

static rlae_status load_text(const char *name, const char *yaml, int n_ov, char **ov, rlae_config *c)
{
    rlae_status s = rlae_config_load(write_file(name, yaml), n_ov, ov, c);
    if (s != RLAE_OK)
        fprintf(stderr, "load %s: %s\n", name, rlae_last_error());
    return s;
}

static void test_defaults(void)
{
    rlae_config c;
    CHECK_EQ_INT(load_text("min.yaml", MIN_MEMBERS, 0, NULL, &c), RLAE_OK);
    CHECK_EQ_STR(c.run.name, "min"); /* from the file name */
    CHECK_EQ_STR(c.run.out_dir, "runs");
    CHECK_EQ_INT(c.run.seed, 1);
    CHECK_EQ_INT(c.run.device, RLAE_DEVICE_AUTO);
    CHECK_EQ_INT(c.n_members, 1);
    CHECK_EQ_STR(c.members[0].name, "a");
    CHECK_EQ_STR(c.members[0].path, "p");
    CHECK_EQ_INT(c.members[0].format, RLAE_FORMAT_AUTO);
    CHECK_EQ_STR(c.members[0].tokenizer, "");
    CHECK_EQ_INT(c.members[0].dtype, RLAE_DTYPE_AUTO);
    CHECK_EQ_INT(c.members[0].chat_template, RLAE_TEMPLATE_AUTO);
    CHECK_NEAR(c.members[0].weight, 1.0, 0);
    CHECK_EQ_INT(c.ensemble.span, 8);
    CHECK_EQ_INT(c.ensemble.max_new_tokens, 256);
    CHECK_EQ_INT(c.ensemble.decoding, RLAE_DECODE_GREEDY);
    CHECK_NEAR(c.ensemble.temperature, 1.0, 0);
    CHECK_EQ_INT(c.ensemble.top_k, 0);
    CHECK_NEAR(c.ensemble.top_p, 1.0, 0);
    CHECK_EQ_INT(c.ensemble.stop.n, 0);
    CHECK_EQ_INT(c.ensemble.policy, RLAE_POLICY_AGENT);
    CHECK_EQ_STR(c.ensemble.single_member, "");
    CHECK_EQ_INT(c.ensemble.topk, 10);
    CHECK_NEAR(c.ensemble.gate_threshold, 0.5, 0);
    CHECK_EQ_INT(c.ensemble.batch_size, 8);
    CHECK_EQ_INT(c.algorithm.name, RLAE_ALGO_PPO);
    CHECK_NEAR(c.algorithm.lr, 3e-4, 0);
    CHECK(!c.algorithm.anneal_lr);
    CHECK_NEAR(c.algorithm.gamma, 0.99, 0);
    CHECK_NEAR(c.algorithm.gae_lambda, 0.95, 0);
    CHECK_NEAR(c.algorithm.clip, 0.2, 0);
    CHECK_NEAR(c.algorithm.value_coef, 0.5, 0);
    CHECK_NEAR(c.algorithm.entropy_coef, 0.01, 0);
    CHECK_NEAR(c.algorithm.max_grad_norm, 0.5, 0);
    CHECK_EQ_INT(c.algorithm.epochs, 4);
    CHECK_EQ_INT(c.algorithm.minibatches, 4);
    CHECK_NEAR(c.algorithm.adam_eps, 1e-5, 0);
    CHECK_NEAR(c.algorithm.target_kl, 0, 0);
    CHECK_NEAR(c.algorithm.huber_delta, 10, 0);
    CHECK(c.algorithm.share_params);
    CHECK_EQ_INT(c.agent.hidden, 64);
    CHECK_EQ_INT(c.agent.layers, 2);
    CHECK_EQ_INT(c.agent.proj_dim, 32);
    CHECK_EQ_INT(c.agent.span_embed_dim, 8);
    CHECK_NEAR(c.agent.alpha_min, 1e-4, 0);
    CHECK(c.agent.use_hidden);
    CHECK_EQ_INT(c.task.name, RLAE_TASK_SYNTHETIC);
    CHECK_EQ_INT(c.task.shots, -1);
    CHECK_EQ_INT(c.task.limit, 0);
    CHECK_EQ_STR(c.task.data_dir, "");
    CHECK_EQ_INT(c.task.synthetic.skills.n, 4);
    if (c.task.synthetic.skills.n == 4) {
        CHECK_EQ_STR(c.task.synthetic.skills.items[0], "addition");
        CHECK_EQ_STR(c.task.synthetic.skills.items[3], "copy");
    }
    CHECK_EQ_INT(c.task.synthetic.proportions.n, 0);
    CHECK_EQ_INT(c.train.iterations, 100);
    CHECK_EQ_INT(c.train.episodes_per_iter, 32);
    CHECK_EQ_INT(c.train.eval_every, 10);
    CHECK_EQ_INT(c.train.checkpoint_every, 10);
    CHECK_EQ_STR(c.log.hdf5, "");
    CHECK(c.log.tokens && c.log.text);
    CHECK_EQ_INT(c.log.flush_every, 1);
    CHECK_EQ_INT(c.dist.backend, RLAE_DIST_SINGLE);
    CHECK_EQ_INT(c.dist.placement, RLAE_PLACE_DATA_PARALLEL);
    rlae_config_free(&c);
    CHECK(c.members == NULL && c.run.name == NULL);

    /* `key: ~` and an empty value keep the default */
    CHECK_EQ_INT(load_text("nulls.yaml", MIN_MEMBERS "ensemble:\n  span: ~\n  stop:\nrun: ~\n", 0, NULL,
                           &c), RLAE_OK);
    CHECK_EQ_INT(c.ensemble.span, 8);
    CHECK_EQ_INT(c.ensemble.stop.n, 0);
    rlae_config_free(&c);
}

/* The C enums in config.h must follow the value order of the schema strings. */
static void test_enum_names(void)
{
    CHECK_EQ_STR(rlae_config_enum_name("run.device", RLAE_DEVICE_CUDA), "cuda");
    CHECK_EQ_STR(rlae_config_enum_name("members[].format", RLAE_FORMAT_LLAMA2C), "llama2c");
    CHECK_EQ_STR(rlae_config_enum_name("members[].dtype", RLAE_DTYPE_BF16), "bf16");
    CHECK_EQ_STR(rlae_config_enum_name("members[].chat_template", RLAE_TEMPLATE_PLAIN), "plain");
    CHECK_EQ_STR(rlae_config_enum_name("members[].chat_template", RLAE_TEMPLATE_CHATML), "chatml");
    CHECK_EQ_STR(rlae_config_enum_name("ensemble.decoding", RLAE_DECODE_SAMPLE), "sample");
    CHECK_EQ_STR(rlae_config_enum_name("ensemble.policy", RLAE_POLICY_GATED), "gated");
    CHECK_EQ_STR(rlae_config_enum_name("ensemble.policy", RLAE_POLICY_AGENT), "agent");
    CHECK_EQ_STR(rlae_config_enum_name("algorithm.name", RLAE_ALGO_MAPPO), "mappo");
    CHECK_EQ_STR(rlae_config_enum_name("task.name", RLAE_TASK_TRIVIAQA), "triviaqa");
    CHECK_EQ_STR(rlae_config_enum_name("task.name", RLAE_TASK_SYNTHETIC), "synthetic");
    CHECK_EQ_STR(rlae_config_enum_name("task.mc_scoring", RLAE_MC_LOGLIK_NORM), "loglik_norm");
    CHECK_EQ_STR(rlae_config_enum_name("dist.backend", RLAE_DIST_NCCL), "nccl");
    CHECK_EQ_STR(rlae_config_enum_name("dist.placement", RLAE_PLACE_MODEL_PARALLEL), "model_parallel");
    CHECK(rlae_config_enum_name("ensemble.policy", RLAE_POLICY_AGENT + 1) == NULL);
    CHECK(rlae_config_enum_name("ensemble.span", 0) == NULL);
}

static void test_unknown_keys(void)
{
    EXPECT_ERROR("unk.yaml", MIN_MEMBERS "ensemble:\n  spn: 3\n", "unk.yaml:5:3:",
                 "unknown key 'ensemble.spn'", "did you mean 'ensemble.span'?");
    EXPECT_ERROR("unk2.yaml", MIN_MEMBERS "ensmble:\n  span: 3\n", "unk2.yaml:4:1:",
                 "unknown key 'ensmble'", "did you mean 'ensemble'?");
    EXPECT_ERROR("unk3.yaml", "members:\n  - name: a\n    pth: p\n", "unk3.yaml:3:5:",
                 "unknown key 'members[0].pth'", "did you mean 'members[0].path'?");
    EXPECT_ERROR("unk4.yaml", MIN_MEMBERS "zzqqxxww: 1\n", "unk4.yaml:4:1:", "unknown key 'zzqqxxww'",
                 "ensemble");
    /* a key in the wrong section is found by its name */
    EXPECT_ERROR("unk5.yaml", MIN_MEMBERS "run:\n  span: 3\n", "unk5.yaml:5:3:", "unknown key 'run.span'",
                 "did you mean 'ensemble.span'?");
}

static void test_wrong_types(void)
{
    EXPECT_ERROR("type1.yaml", MIN_MEMBERS "ensemble:\n  span: abc\n", "type1.yaml:5:9:",
                 "ensemble.span", "expected an integer, got 'abc'");
    EXPECT_ERROR("type2.yaml", MIN_MEMBERS "ensemble:\n  span: 1.5\n", "type2.yaml:5:9:",
                 "ensemble.span", "expected an integer");
    EXPECT_ERROR("type3.yaml", MIN_MEMBERS "ensemble:\n  temperature: hot\n", "type3.yaml:5:16:",
                 "ensemble.temperature", "expected a number, got 'hot'");
    EXPECT_ERROR("type4.yaml", MIN_MEMBERS "algorithm:\n  anneal_lr: yes\n", "type4.yaml:5:14:",
                 "algorithm.anneal_lr", "expected true or false");
    EXPECT_ERROR("type5.yaml", MIN_MEMBERS "ensemble:\n  stop: x\n", "type5.yaml:5:9:", "ensemble.stop",
                 "expected a list");
    EXPECT_ERROR("type6.yaml", MIN_MEMBERS "ensemble: 3\n", "type6.yaml:4:11:", "ensemble",
                 "expected a mapping");
    EXPECT_ERROR("type7.yaml", MIN_MEMBERS "ensemble:\n  span: \"8\"\n", "type7.yaml:5:9:",
                 "ensemble.span", "quoted string");
    EXPECT_ERROR("type8.yaml", MIN_MEMBERS "run:\n  name: [a, b]\n", "type8.yaml:5:9:", "run.name",
                 "expected a string, got a list");
    EXPECT_ERROR("type9.yaml", MIN_MEMBERS "task:\n  synthetic:\n    proportions: [1, x]\n",
                 "type9.yaml:6:22:", "task.synthetic.proportions[1]", "expected a number");
    EXPECT_ERROR("type10.yaml", "members: {name: a}\n", "type10.yaml:1:10:", "members",
                 "expected a list of members");
    EXPECT_ERROR("type11.yaml", "- a\n- b\n", "type11.yaml:1:1:", "a config is a mapping", NULL);
    EXPECT_ERROR("type12.yaml", MIN_MEMBERS "ensemble:\n  temperature: .nan\n", "type12.yaml:5:16:",
                 "expected a number", NULL);
}

static void test_ranges_and_enums(void)
{
    EXPECT_ERROR("range1.yaml", MIN_MEMBERS "ensemble:\n  span: 0\n", "range1.yaml:5:9:",
                 "ensemble.span", "out of range: the value must be in [1, 4096]");
    EXPECT_ERROR("range2.yaml", MIN_MEMBERS "ensemble:\n  top_p: 0\n", "range2.yaml:5:10:",
                 "ensemble.top_p", "(0, 1]");
    EXPECT_ERROR("range3.yaml", MIN_MEMBERS "algorithm:\n  epochs: 101\n", "range3.yaml:5:11:",
                 "algorithm.epochs", "[1, 100]");
    EXPECT_ERROR("range4.yaml", MIN_MEMBERS "ensemble:\n  temperature: -0.5\n", "range4.yaml:5:16:",
                 "ensemble.temperature", ">= 0");
    EXPECT_ERROR("range5.yaml", MIN_MEMBERS "run:\n  seed: 99999999999\n", "range5.yaml:5:9:",
                 "run.seed", "out of range");
    EXPECT_ERROR("range6.yaml", "members:\n  - {name: a, path: p, weight: -1}\n", "range6.yaml:2:32:",
                 "members[0].weight", ">= 0");
    EXPECT_ERROR("members9.yaml",
                 "members: [{name: a, path: p}, {name: b, path: p}, {name: c, path: p}, "
                 "{name: d, path: p}, {name: e, path: p}, {name: f, path: p}, {name: g, path: p}, "
                 "{name: h, path: p}, {name: i, path: p}]\n",
                 "members9.yaml:1:10:", "9 members given", "1 to 8");
    EXPECT_ERROR("members0.yaml", "members: []\n", "members0.yaml:1:10:", "0 members given", NULL);
    EXPECT_ERROR("enum1.yaml", MIN_MEMBERS "ensemble:\n  policy: topkk\n", "enum1.yaml:5:11:",
                 "ensemble.policy", "did you mean 'topk'?");
    EXPECT_ERROR("enum2.yaml", MIN_MEMBERS "run:\n  device: tpu\n", "enum2.yaml:5:11:", "run.device",
                 "'tpu' is not one of auto|cpu|cuda");
}

static void test_required_and_duplicates(void)
{
    EXPECT_ERROR("req1.yaml", "ensemble:\n  span: 3\n", "req1.yaml:1:1:", "missing required key 'members'",
                 NULL);
    EXPECT_ERROR("req2.yaml", "members:\n  - name: a\n  - name: b\n    path: q\n", "req2.yaml:2:5:",
                 "members[0]", "missing required key 'path'");
    EXPECT_ERROR("req3.yaml", "", "req3.yaml:1:1:", "missing required key 'members'", NULL);
    EXPECT_ERROR("dup1.yaml", MIN_MEMBERS "ensemble:\n  span: 3\n  span: 4\n", "dup1.yaml:6:3:",
                 "duplicate key 'ensemble.span'", "first given at line 5, column 3");
    EXPECT_ERROR("dup2.yaml", MIN_MEMBERS "run: {seed: 1}\n" MIN_MEMBERS, "dup2.yaml:5:1:",
                 "duplicate key 'members'", NULL);
    EXPECT_ERROR("dup3.yaml", "members:\n  - {name: a, path: p, path: q}\n", "dup3.yaml:2:24:",
                 "duplicate key 'members[0].path'", NULL);
    EXPECT_ERROR("dupname.yaml", "members:\n  - {name: a, path: p}\n  - {name: a, path: q}\n",
                 "dupname.yaml:3:12:", "members[1].name", "already used by members[0]");
    EXPECT_ERROR("badname.yaml", "members:\n  - {name: 'a b', path: p}\n", "badname.yaml:2:12:",
                 "members[0].name", "only letters");
}

static void test_malformed_and_misc(void)
{
    EXPECT_ERROR("bad1.yaml", "members:\n  - {name: a, path: p\nensemble: {span: 3}\n", "bad1.yaml:3:",
                 "malformed YAML", "did not find expected");
    EXPECT_ERROR("bad2.yaml", "members:\n  - name: a\n   path: p\n", "bad2.yaml:3:",
                 "malformed YAML", NULL);
    EXPECT_ERROR("bad3.yaml", "a: &x 1\nb: *x\n", "bad3.yaml:2:4:", "aliases", NULL);
    EXPECT_ERROR("bad4.yaml", MIN_MEMBERS "---\n" MIN_MEMBERS, "bad4.yaml:4:1:", "one YAML document", NULL);
    EXPECT_ERROR("ref1.yaml", MIN_MEMBERS "ensemble:\n  policy: single\n  single_member: b\n",
                 "ref1.yaml:6:18:", "ensemble.single_member", "no member is named 'b'");
    EXPECT_ERROR("prop.yaml", MIN_MEMBERS "task:\n  synthetic:\n    proportions: [1, 2]\n",
                 "prop.yaml:6:18:", "task.synthetic.proportions", "2 proportions for 4 skills");
    rlae_config c;
    rlae_status s = rlae_config_load("/nonexistent/dir/x.yaml", 0, NULL, &c);
    CHECK_EQ_INT(s, RLAE_ERR_INPUT);
    CHECK(contains(rlae_last_error(), "/nonexistent/dir/x.yaml"));
}

static void test_base(void)
{
    write_file("base.yaml", "members:\n  - {name: a, path: pa}\n  - {name: b, path: pb}\n"
                            "ensemble:\n  span: 16\n  stop: [x, y]\n  batch_size: 4\n"
                            "algorithm:\n  lr: 0.001\n  epochs: 7\n");
    write_file("sub/child.yaml", "base: ../base.yaml\nensemble:\n  stop: [z]\n  batch_size: ~\n"
                                 "algorithm:\n  lr: 0.002\n");
    const char *grand = write_file("sub/grand.yaml", "base: child.yaml\nrun:\n  name: g\n"
                                                     "algorithm:\n  name: mappo\n");
    rlae_config c;
    rlae_status s = rlae_config_load(grand, 0, NULL, &c);
    CHECK_EQ_INT(s, RLAE_OK);
    if (s != RLAE_OK) {
        fprintf(stderr, "%s\n", rlae_last_error());
        return;
    }
    CHECK_EQ_INT(c.n_members, 2);
    CHECK_EQ_STR(c.members[1].path, "pb");
    CHECK_EQ_INT(c.ensemble.span, 16);        /* from the base, through the map merge */
    CHECK_EQ_INT(c.ensemble.stop.n, 1);       /* lists replace, not append */
    CHECK_EQ_STR(c.ensemble.stop.items[0], "z");
    CHECK_EQ_INT(c.ensemble.batch_size, 8);   /* `~` in the child restores the default */
    CHECK_NEAR(c.algorithm.lr, 0.002, 0);     /* child over base */
    CHECK_EQ_INT(c.algorithm.epochs, 7);
    CHECK_EQ_INT(c.algorithm.name, RLAE_ALGO_MAPPO);
    CHECK_EQ_STR(c.run.name, "g");
    rlae_config_free(&c);

    /* errors in a base name the base file */
    write_file("badbase.yaml", MIN_MEMBERS "ensemble:\n  span: nope\n");
    EXPECT_ERROR("usesbad.yaml", "base: badbase.yaml\n", "badbase.yaml:5:9:", "ensemble.span", NULL);
    EXPECT_ERROR("nobase.yaml", "base: missing.yaml\n" MIN_MEMBERS, "nobase.yaml:1:7:",
                 "base: cannot read", "missing.yaml");
    write_file("cyc_a.yaml", "base: cyc_b.yaml\n" MIN_MEMBERS);
    write_file("cyc_b.yaml", "base: cyc_c.yaml\n");
    EXPECT_ERROR("cyc_c.yaml", "base: cyc_a.yaml\n", ":1:7:", "inheritance cycle", "cyc_a.yaml -> ");
    EXPECT_ERROR("self.yaml", "base: self.yaml\n", "self.yaml:1:7:", "inheritance cycle", NULL);
    EXPECT_ERROR("baselist.yaml", "base: [a]\n", "baselist.yaml:1:7:", "base:", "path of another");
}

static void test_overrides(void)
{
    const char *path = write_file("ov.yaml", "members:\n  - {name: a, path: pa}\n  - {name: b, path: pb}\n"
                                             "ensemble:\n  span: 16\n");
    char *ov[] = {"ensemble.span=32",
                  "ensemble.stop=[\"\\n\\n\",\"Q:\"]",
                  "members.1.weight=2.5",
                  "members[0].dtype=bf16",
                  "algorithm.name=mappo",
                  "run.name=123",
                  "task.synthetic.proportions=[1, 2, 3, 4]",
                  "ensemble.span=64", /* later overrides win */
                  "ensemble.policy=single",
                  "ensemble.single_member=b",
                  "agent.use_hidden=false"};
    rlae_config c;
    rlae_status s = rlae_config_load(path, (int)(sizeof ov / sizeof ov[0]), ov, &c);
    CHECK_EQ_INT(s, RLAE_OK);
    if (s != RLAE_OK) {
        fprintf(stderr, "%s\n", rlae_last_error());
        return;
    }
    CHECK_EQ_INT(c.ensemble.span, 64);
    CHECK_EQ_INT(c.ensemble.stop.n, 2);
    if (c.ensemble.stop.n == 2) {
        CHECK_EQ_STR(c.ensemble.stop.items[0], "\n\n");
        CHECK_EQ_STR(c.ensemble.stop.items[1], "Q:");
    }
    CHECK_NEAR(c.members[1].weight, 2.5, 0);
    CHECK_EQ_INT(c.members[0].dtype, RLAE_DTYPE_BF16);
    CHECK_EQ_INT(c.algorithm.name, RLAE_ALGO_MAPPO);
    CHECK_EQ_STR(c.run.name, "123"); /* typed by the schema: a string, even if it looks numeric */
    CHECK_EQ_INT(c.task.synthetic.proportions.n, 4);
    CHECK_EQ_INT(c.ensemble.policy, RLAE_POLICY_SINGLE);
    CHECK_EQ_INT(rlae_config_member_index(&c, c.ensemble.single_member), 1);
    CHECK(!c.agent.use_hidden);
    rlae_config_free(&c);

    const char *y = "members:\n  - {name: a, path: pa}\n";
    EXPECT_OV_ERROR("ov1.yaml", y, "ensemble.span=abc", "override 'ensemble.span=abc'", "ensemble.span",
                    "expected an integer, got 'abc'");
    EXPECT_OV_ERROR("ov2.yaml", y, "ensemble.spn=3", "override 'ensemble.spn=3'",
                    "unknown key 'ensemble.spn'", "did you mean 'ensemble.span'?");
    EXPECT_OV_ERROR("ov3.yaml", y, "ensemble.span", "override 'ensemble.span'", "key.sub=value", NULL);
    EXPECT_OV_ERROR("ov4.yaml", y, "ensemble.stop=[a", "override 'ensemble.stop=[a'", "not valid YAML",
                    NULL);
    EXPECT_OV_ERROR("ov5.yaml", y, "members.3.path=x", "override 'members.3.path=x'", "index 3", NULL);
    EXPECT_OV_ERROR("ov6.yaml", y, "ensemble.top_p=1.5", "override 'ensemble.top_p=1.5'",
                    "ensemble.top_p", "(0, 1]");
    EXPECT_OV_ERROR("ov7.yaml", y, "base=x.yaml", "override 'base=x.yaml'", "inside a config file", NULL);
    EXPECT_OV_ERROR("ov8.yaml", y, "ensemble..span=1", "override 'ensemble..span=1'", "key.sub=value",
                    NULL);
    EXPECT_OV_ERROR("ov9.yaml", y, "ensemble.policy=foo", "override 'ensemble.policy=foo'",
                    "not one of", NULL);
    EXPECT_OV_ERROR("ov10.yaml", y, "ensemble.span.x=1", "override 'ensemble.span.x=1'", "ensemble.span",
                    NULL);
}

/* Writes cfg as YAML into a file and returns its text (caller frees). */
static char *show(const rlae_config *cfg, const char *name, const char **path_out)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    CHECK_EQ_INT(rlae_config_write_yaml(cfg, f), RLAE_OK);
    fclose(f);
    *path_out = write_file(name, text);
    return text;
}

static void round_trip(const char *what, const rlae_config *c)
{
    const char *p1, *p2;
    char *t1 = show(c, "rt1.yaml", &p1);
    rlae_config back;
    rlae_status s = rlae_config_load(p1, 0, NULL, &back);
    CHECK_MSG(s == RLAE_OK, "%s: reloading show output failed: %s", what, rlae_last_error());
    if (s == RLAE_OK) {
        CHECK_MSG(rlae_config_equal(c, &back), "%s: show -> load changed the config", what);
        char *t2 = show(&back, "rt2.yaml", &p2);
        CHECK_MSG(strcmp(strchr(t1, '\n'), strchr(t2, '\n')) == 0, "%s: show is not a fixed point", what);
        free(t2);
        rlae_config_free(&back);
    }
    free(t1);
}

static void test_round_trip(void)
{
    rlae_config c;
    /* strings that need quoting or escaping, or would read as something else when plain */
    static char stop[] = "ensemble.stop=[\"\\n\\n\", \"Q:\", \"say \\\"hi\\\"\", \"back\\\\slash\", \"true\", "
                         "\"123\", \"\", \" lead\", \"# hash\", \"a: b\", \"caf\u00e9\", \"[x]\", \"-\", "
                         "\"~\", \"\\t\"]";
    char *ov[] = {stop, "algorithm.lr=0.1", "algorithm.adam_eps=1e-7", "ensemble.temperature=3.14159265358979",
                  "task.synthetic.proportions=[0.1, 0.2, 0.7]", "task.synthetic.skills=[a, b, c]",
                  "run.out_dir=../out dir/x", "members[0].tokenizer=null", "log.hdf5=\"null\"",
                  "task.data_dir=.5", "algorithm.huber_delta=1e20", "ensemble.gate_threshold=0.3333333333333333"};
    rlae_status s = load_text("tricky.yaml", MIN_MEMBERS, (int)(sizeof ov / sizeof ov[0]), ov, &c);
    CHECK_EQ_INT(s, RLAE_OK);
    if (s == RLAE_OK) {
        CHECK_EQ_INT(c.ensemble.stop.n, 15);
        CHECK_EQ_STR(c.log.hdf5, "null");
        CHECK_EQ_STR(c.members[0].tokenizer, ""); /* plain null = default */
        round_trip("tricky strings and floats", &c);
        /* rlae_config_equal must see a difference, or the round trip proves nothing */
        rlae_config d;
        char *ov2[] = {"ensemble.stop=[]"};
        CHECK_EQ_INT(load_text("tricky2.yaml", MIN_MEMBERS, 1, ov2, &d), RLAE_OK);
        CHECK(!rlae_config_equal(&c, &d));
        rlae_config_free(&d);
        rlae_config_free(&c);
    }
}

/* Every config shipped in configs/ loads and round-trips. */
static void check_dir(const char *dir, int *count)
{
    DIR *d = opendir(dir);
    CHECK_MSG(d != NULL, "cannot open %s", dir);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) {
            check_dir(p, count);
            continue;
        }
        size_t n = strlen(p);
        if (n < 5 || strcmp(p + n - 5, ".yaml") != 0)
            continue;
        rlae_config c;
        rlae_status s = rlae_config_load(p, 0, NULL, &c);
        CHECK_MSG(s == RLAE_OK, "%s: %s", p, rlae_last_error());
        if (s == RLAE_OK) {
            round_trip(p, &c);
            rlae_config_free(&c);
        }
        (*count)++;
    }
    closedir(d);
}

static void test_shipped_configs(void)
{
    int count = 0;
    check_dir(RLAE_SOURCE_DIR "/configs", &count);
    CHECK_MSG(count >= 9, "found only %d configs under configs/", count);

    rlae_config c;
    rlae_status s = rlae_config_load(RLAE_SOURCE_DIR "/configs/demo.yaml", 0, NULL, &c);
    CHECK_EQ_INT(s, RLAE_OK);
    if (s == RLAE_OK) {
        CHECK_EQ_INT(c.n_members, 2);
        CHECK(rlae_config_member_index(&c, "chars") == 0 && rlae_config_member_index(&c, "bpe") == 1);
        CHECK_EQ_INT(c.task.name, RLAE_TASK_SYNTHETIC);
        CHECK_EQ_INT(c.algorithm.name, RLAE_ALGO_PPO);
        rlae_config_free(&c);
    }
    /* mappo inherits ppo, which inherits the tiny models */
    s = rlae_config_load(RLAE_SOURCE_DIR "/configs/algorithms/mappo.yaml", 0, NULL, &c);
    CHECK_EQ_INT(s, RLAE_OK);
    if (s == RLAE_OK) {
        CHECK_EQ_INT(c.algorithm.name, RLAE_ALGO_MAPPO);
        CHECK(c.algorithm.value_norm);
        CHECK(c.algorithm.anneal_lr); /* from ppo.yaml */
        CHECK_EQ_INT(c.members[0].format, RLAE_FORMAT_LLAMA2C); /* from models/tiny.yaml */
        CHECK(contains(c.members[1].tokenizer, "tok105.bin"));
        rlae_config_free(&c);
    }
}

static void test_doc(void)
{
    char *md = NULL, *text = NULL;
    size_t mlen = 0, tlen = 0;
    FILE *f = open_memstream(&md, &mlen);
    CHECK_EQ_INT(rlae_config_write_doc(f, 1), RLAE_OK);
    fclose(f);
    f = open_memstream(&text, &tlen);
    CHECK_EQ_INT(rlae_config_write_doc(f, 0), RLAE_OK);
    fclose(f);
    for (int i = 0; i < cfg_schema_len; i++) {
        char quoted[256];
        snprintf(quoted, sizeof quoted, "`%s`", cfg_schema[i].path);
        CHECK_MSG(contains(md, quoted), "markdown doc lacks %s", quoted);
        CHECK_MSG(contains(text, cfg_schema[i].path), "text doc lacks %s", cfg_schema[i].path);
        CHECK_MSG(strlen(cfg_schema[i].doc) > 10 && !strchr(cfg_schema[i].doc, '\n'),
                  "%s: the doc must be one real line", cfg_schema[i].path);
    }
    /* docs/config.md is committed; it must be exactly what the schema generates now */
    FILE *committed = fopen(RLAE_SOURCE_DIR "/docs/config.md", "rb");
    CHECK_MSG(committed != NULL, "docs/config.md is missing");
    if (committed) {
        char *buf = calloc(mlen + 2, 1);
        size_t n = fread(buf, 1, mlen + 1, committed);
        fclose(committed);
        CHECK_MSG(n == mlen && memcmp(buf, md, mlen) == 0,
                  "docs/config.md is out of date: regenerate it with "
                  "`rlae config doc --format md > docs/config.md`");
        free(buf);
    }
    free(md);
    free(text);
}

static void test_internals(void)
{
    CHECK_EQ_INT(cfg_edit_distance("spn", "span"), 1);
    CHECK_EQ_INT(cfg_edit_distance("", "abc"), 3);
    CHECK_EQ_INT(cfg_edit_distance("kitten", "sitting"), 3);
    char buf[64];
    cfg_format_double(10, buf, sizeof buf);
    CHECK_EQ_STR(buf, "10.0");
    cfg_format_double(1e-5, buf, sizeof buf);
    CHECK_EQ_STR(buf, "1.0e-5");
    cfg_format_double(0.1, buf, sizeof buf);
    CHECK_EQ_STR(buf, "0.1");
    cfg_format_double(1.0 / 3.0, buf, sizeof buf);
    CHECK(strtod(buf, NULL) == 1.0 / 3.0);
    /* every schema default parses and is in range: loading the minimal config applies them all,
     * and a schema path appears once */
    for (int i = 0; i < cfg_schema_len; i++)
        for (int j = i + 1; j < cfg_schema_len; j++)
            CHECK_MSG(strcmp(cfg_schema[i].path, cfg_schema[j].path) != 0, "%s twice", cfg_schema[i].path);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/rlae-test-config-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_defaults();
    test_enum_names();
    test_unknown_keys();
    test_wrong_types();
    test_ranges_and_enums();
    test_required_and_duplicates();
    test_malformed_and_misc();
    test_base();
    test_overrides();
    test_round_trip();
    test_shipped_configs();
    test_doc();
    test_internals();
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
    return test_summary("test_config");
}
