/* Entry point of the rlae command: global flags, subcommand dispatch, help texts. */
#include "cli.h"
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Defined weakly so the table below links before every subcommand exists; a subcommand whose
 * engine is not built has run == NULL and says so. */
#define WEAK __attribute__((weak))
WEAK int cmd_config(int argc, char **argv);
WEAK int cmd_generate(int argc, char **argv);
WEAK int cmd_tokenize(int argc, char **argv);
WEAK int cmd_bench(int argc, char **argv);
WEAK int cmd_eval(int argc, char **argv);
WEAK int cmd_inspect(int argc, char **argv);
WEAK int cmd_train(int argc, char **argv);
WEAK int cmd_data(int argc, char **argv);
WEAK int cmd_sweep(int argc, char **argv);
WEAK int cmd_table(int argc, char **argv);

static const cli_command commands[] = {
    {"train", "train an RLAE agent (PPO or MAPPO) from a config",
     "usage: rlae train CONFIG [key.sub=value ...] [--resume RUN_DIR]\n"
     "\n"
     "Runs iterations of rollout -> PPO/MAPPO update -> periodic evaluation as described by CONFIG\n"
     "(a YAML file; see `rlae config doc`). Overrides such as `train.iterations=50` or\n"
     "`algorithm.name=mappo` are typed by the config schema. Checkpoints and the HDF5 log go to\n"
     "run.out_dir; --resume RUN_DIR continues an interrupted run exactly.\n",
     NULL},
    {"eval", "evaluate a weighting method on tasks (accuracy with 95% CIs)",
     "usage: rlae eval CONFIG [--method single:NAME|uniform|score|topk|gated|agent:CHECKPOINT]...\n"
     "                        [--tasks a,b,...] [--limit N] [--split S] [--truncate-left]\n"
     "                        [key.sub=value ...]\n"
     "\n"
     "Runs the ensemble of CONFIG's members on each task's evaluation split with each weighting\n"
     "method and prints a table (methods x tasks, then the average over tasks): accuracy +- the\n"
     "half-width of its 95% bootstrap interval, and n. QA tasks add mean F1. The same rows go to\n"
     "<run.out_dir>/eval.csv (written atomically) and, with a row per subject, to eval.h5 (an rlae\n"
     "run file: rlae inspect, tools/plot.py).\n"
     "\n"
     "  --method M        single:NAME (one member), uniform, score (members[].weight), topk (UniTE),\n"
     "                    gated (GaC); repeat for several rows; default ensemble.policy.\n"
     "                    agent:CHECKPOINT is a trained agent with deterministic weights\n"
     "                    (CHECKPOINT: the run.out_dir of rlae train, or its checkpoint.bin)\n"
     "                    LABEL=M names the row (e.g. rlae_ppo=agent:runs/demo)\n"
     "  --tasks a,b       tasks (default task.name): gsm8k, arc_challenge, arc_easy, mmlu, piqa,\n"
     "                    hellaswag, nq_open, triviaqa, synthetic\n"
     "  --limit N         first N items of each task (default task.limit; 0 = all)\n"
     "  --split S         split to evaluate on (default task.eval_split, else the task's own)\n"
     "  --by-subject      also a table per task with a column per subject (MMLU subject,\n"
     "                    synthetic skill) and the macro average\n"
     "  --truncate-left   cut prompts that do not fit a member's context from the left (counted on\n"
     "                    stderr) instead of failing on the first such item\n"
     "\n"
     "Multiple-choice tasks answer by generation (task.mc_scoring=generate) or by the log-likelihood\n"
     "of each option: loglik (sum over the option's tokens) or loglik_norm (divided by its bytes).\n"
     "An ensemble scores an option as log sum_k w_k P_k(option | context). Data from task.data_dir,\n"
     "else $RLAE_DATA_DIR; few-shot count task.shots.\n",
     NULL},
    {"generate", "generate text with one model or an ensemble",
     "usage: rlae generate --model PATH [--tokenizer PATH] [--prompt TEXT] [--max-tokens N]\n"
     "                     [--temperature T] [--top-p P] [--top-k K] [--seed S] [--no-stream]\n"
     "       rlae generate CONFIG [--prompt TEXT]... [--system TEXT] [--show-weights] [--agent RUN_DIR]\n"
     "                     [key=value ...]\n"
     "\n"
     "One model (--model): streams generated text to stdout (the prompt is echoed first, as llama2.c\n"
     "does). PATH is a Hugging Face model directory (config.json, *.safetensors or a sharded index,\n"
     "tokenizer.json) or a llama2.c checkpoint (.bin; its tokenizer is the single tok*.bin /\n"
     "tokenizer.bin beside it, or --tokenizer).\n"
     "\n"
     "  --max-tokens N   new tokens to generate (default 256, capped by the model's context)\n"
     "  --temperature T  default 1.0; 0 is greedy decoding\n"
     "  --top-p P        nucleus sampling (default 1 = off)\n"
     "  --top-k K        keep the K most likely tokens (default 0 = off)\n"
     "  --seed S         sampling seed (default: from the clock, printed on stderr)\n"
     "  --no-stream      print the text once at the end\n"
     "  --device D       cpu (default), cuda or auto: where the model runs (--model only)\n"
     "  --dtype T        f32 or bf16: the weights' type on the device (default bf16 on cuda, f32 on cpu)\n"
     "\n"
     "Generation stops at the model's BOS or EOS token. Prefill and decode tokens/s go to stderr.\n"
     "\n"
     "An ensemble (CONFIG): CONFIG's members write one answer per --prompt together (several prompts\n"
     "run as one batch; none = an empty prompt). Each member formats the prompt with its own chat\n"
     "template; their vocabularies are joined exactly (byte strings) and their next-token\n"
     "distributions mixed with the weights of ensemble.policy: single, uniform, score\n"
     "(members[].weight), topk (UniTE), gated (GaC). Settings come from CONFIG and key=value\n"
     "overrides (ensemble.max_new_tokens, ensemble.span, ensemble.decoding, ensemble.stop, run.seed).\n"
     "Prints each answer (without the prompt).\n"
     "\n"
     "  --system TEXT    a system message for members with a chat template\n"
     "  --show-weights   after each answer, the weights of every span and each token as [text]k,\n"
     "                   k = the member that gave the chosen token the highest probability\n"
     "  --agent RUN_DIR  the weights come from the agent trained in RUN_DIR (rlae train), with\n"
     "                   deterministic weights, instead of ensemble.policy\n"
     "\n"
     "The union size goes to the log; the members' forward time and the ensemble step's overhead\n"
     "(mix, bridge and stops, policy) go to stderr.\n",
     NULL},
    {"sweep", "run the pending runs of an experiment",
     "usage: rlae sweep EXPERIMENT [--jobs N] [--gpus LIST] [--max-runs N] [--out DIR] [--dry-run]\n"
     "\n"
     "Expands EXPERIMENT (experiments/*.yaml: a models file, tasks, methods, seeds, overrides and a\n"
     "grid; docs/experiments.md) into runs, each with a stable id from its resolved config and its\n"
     "own directory <out_dir>/runs/<id> (run.yaml, log.txt, the run's HDF5 file, done.json). Runs\n"
     "what is not done as child processes (rlae train / rlae eval), skips what is done, resumes\n"
     "interrupted training from its checkpoint, keeps going when a run fails and lists the\n"
     "failures at the end. Ctrl-C stops starting runs and lets the running ones checkpoint; the\n"
     "same command later finishes the rest. Exit 0 all done, 1 some failed, 2 bad experiment.\n"
     "\n"
     "  --jobs N        N runs at once (default 1)\n"
     "  --gpus LIST     one run per GPU, e.g. --gpus 0,1 (CUDA_VISIBLE_DEVICES per run)\n"
     "  --max-runs N    start at most N runs, then stop (the rest stay pending)\n"
     "  --out DIR       runs go under DIR instead of the experiment's out_dir\n"
     "  --dry-run       print the plan: id, status (done/partial/pending/invalid), command\n",
     NULL},
    {"table", "print the paper-style tables of an experiment",
     "usage: rlae table EXPERIMENT [--format md|csv|tex] [--metric accuracy|latency] [--by KEY] [--out DIR]\n"
     "\n"
     "Rows are methods, columns tasks plus average; cells are mean +- std over seeds read from each\n"
     "run's eval.h5; the best of each column is bold (md, tex) or starred (csv); runs that are not\n"
     "done show as \"missing (k/n seeds)\".\n"
     "\n"
     "  --format F      md (default), csv or tex\n"
     "  --metric M      accuracy (default) or latency (ms per generated token and tokens/s of each\n"
     "                  rlae eval run; per item, marked, where none were generated or recorded)\n"
     "  --by KEY        columns are the values of grid key KEY (e.g. span), averaged over tasks\n"
     "  --out DIR       read the runs under DIR (as given to rlae sweep --out)\n",
     NULL},
    {"inspect", "summarise an HDF5 run log, or show one episode",
     "usage: rlae inspect RUN.h5 [--episode N [--color=auto|always|never]] [--export csv TABLE] [--follow]\n"
     "\n"
     "Shows the run's provenance (version, git revision, member and tokenizer hashes, seeds), reward,\n"
     "accuracy and update metrics per iteration, the mean weight per member overall, per span index\n"
     "and per task, evaluation results with confidence intervals, and the resolved config.\n"
     "Only committed iterations are shown, so a file being written, or left by a killed run, reads\n"
     "consistently (the schema is in docs/runlog.md).\n"
     "\n"
     "  --episode N        row N of /episodes: prompt, gold, response, each span's weights and its\n"
     "                     tokens (union ids) coloured by the member most confident in them\n"
     "                     (\"id/a\" markers when stdout is not a terminal or with --color=never)\n"
     "  --export csv TABLE a table as CSV on stdout: episodes, spans, tokens, text, updates, eval,\n"
     "                     iterations (per-member arrays become one column per member)\n"
     "  --follow           the summary, then one line per newly committed iteration until Ctrl-C\n"
     "\n"
     "A file that is not an rlae run file, or is damaged, exits with 2 and says why.\n",
     NULL},
    {"bench", "measure throughput of the model forward, the ensemble step and kernels",
     "usage: rlae bench model (--arch NAME | --model PATH) [--batch B] [--ctx C] [--tokens N]\n"
     "                        [--device auto|cpu|cuda] [--dtype f32|bf16] [--layers L] [--vocab V]\n"
     "                        [--seed S] [--json]\n"
     "       rlae bench ensemble --arch NAME --members K [--batch B] [--ctx C] [--tokens N]\n"
     "                        [--device auto|cpu|cuda] [--dtype f32|bf16]\n"
     "                        [--layers L] [--vocab V] [--tokenizer PATH] [--seed S] [--json]\n"
     "       rlae bench mix [--members K] [--union U] [--batch B] [--device cpu|cuda|auto] [--iters N] [--sample]\n"
     "\n"
     "Prints tokens/s, ms/token and achieved GB/s next to the device's measured bandwidth (CPU: best of\n"
     "read-sum, copy and batch-1 matmul over 256 MiB; CUDA: device-to-device copy, read + write).\n"
     "model: random weights of NAME (llama3-8b, qwen2.5-7b, mistral-7b: real shapes; stories110m,\n"
     "stories15m, tiny: CPU-sized), made in memory on the device from --seed, never on disk; or the\n"
     "checkpoint PATH. Prefill of C tokens (default 128) for B sequences (default 1), one warm-up step,\n"
     "N timed decode steps (default 64) of random tokens: median ms/step, tokens/s, bytes per step\n"
     "(weights + KV cache at the current lengths), GB/s and % of the bandwidth, memory. --layers /\n"
     "--vocab shrink a random model (stated in the report). --dtype: bf16 on cuda, f32 on the CPU.\n"
     "ensemble: K members of NAME (seeds S..S+K-1) through the ensemble engine, uniform weights, greedy:\n"
     "per-token time vs the sum of the members' solo times, and memory vs weights + KV cache.\n"
     "--tokenizer defaults to $RLAE_SHARED_DIR/tokenizers/llama2/tokenizer.bin (tiny: stories260K's\n"
     "tok512.bin); a larger model vocabulary keeps its full LM head, the extra logits map to nothing.\n"
     "mix: the fused ensemble step on random logits; sizes not given are swept (K 2-4, U 32k-200k,\n"
     "B 1-64); --iters N timed steps (default 10); --sample draws with temperature 1.\n",
     NULL},
    {"tokenize", "encode text with a tokenizer and show ids or pieces",
     "usage: rlae tokenize --tokenizer PATH --text TEXT [--pieces] [--no-bos]\n"
     "\n"
     "PATH is an HF tokenizer.json or a llama2.c tokenizer.bin. Prints the token ids, or with\n"
     "--pieces each token's exact bytes. --no-bos leaves out the beginning-of-sequence token.\n",
     NULL},
    {"config", "show a resolved config, or the reference of every key",
     "usage: rlae config show CONFIG [key.sub=value ...]\n"
     "       rlae config doc [--format md|text]\n"
     "\n"
     "show: prints CONFIG as YAML after `base:` inheritance and overrides, with every default\n"
     "      filled in. Errors name file:line:column and the key path.\n"
     "doc:  prints the reference of every config key (type, default, allowed values, meaning).\n",
     NULL},
    {"data", "check datasets and print item counts",
     "usage: rlae data check [DIR]\n"
     "\n"
     "Validates every dataset file under DIR (default $RLAE_DATA_DIR) and prints counts per split;\n"
     "a malformed line is reported as file:line.\n",
     NULL},
};
enum { n_commands = sizeof commands / sizeof commands[0] };

/* The handlers that exist in this build; looked up by name so the table stays one piece of data. */
static int (*handler_for(const char *name))(int, char **)
{
    if (strcmp(name, "config") == 0) return cmd_config;
    if (strcmp(name, "generate") == 0) return cmd_generate;
    if (strcmp(name, "tokenize") == 0) return cmd_tokenize;
    if (strcmp(name, "data") == 0) return cmd_data;
    if (strcmp(name, "bench") == 0) return cmd_bench;
    if (strcmp(name, "eval") == 0) return cmd_eval;
    if (strcmp(name, "inspect") == 0) return cmd_inspect;
    if (strcmp(name, "train") == 0) return cmd_train;
    if (strcmp(name, "sweep") == 0) return cmd_sweep;
    if (strcmp(name, "table") == 0) return cmd_table;
    return NULL;
}

const cli_command *cli_find_command(const char *name)
{
    for (int i = 0; i < n_commands; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

int cli_report(const char *cmd, rlae_status s)
{
    if (s == RLAE_OK)
        return 0;
    fprintf(stderr, "rlae %s: %s\n", cmd, rlae_last_error()[0] ? rlae_last_error() : rlae_status_name(s));
    return rlae_exit_code(s);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "rlae %s: error: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    const cli_command *c = cli_find_command(cmd);
    if (c) {
        const char *end = strstr(c->help, "\n\n");
        fprintf(stderr, "%.*s\n", end ? (int)(end - c->help) : (int)strlen(c->help), c->help);
    }
    fprintf(stderr, "Run `rlae %s --help` for details.\n", cmd);
    return 2;
}

int cli_print_help(const char *cmd)
{
    const cli_command *c = cli_find_command(cmd);
    if (c)
        fputs(c->help, stdout);
    return 0;
}

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return 0;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return 1;
    }
    return 0;
}

static void print_main_help(FILE *f)
{
    fprintf(f,
            "rlae %s - reinforcement-learning-assisted ensembles of LLMs\n"
            "\n"
            "usage: rlae [--verbose|--quiet] COMMAND [ARGS...]\n"
            "       rlae COMMAND --help\n"
            "\n"
            "Several frozen LLMs write one answer together; an RL agent chooses how much to trust each\n"
            "model every few tokens and learns from whether the final answer was right.\n"
            "\n"
            "commands:\n",
            RLAE_VERSION);
    for (int i = 0; i < n_commands; i++)
        fprintf(f, "  %-10s %s%s\n", commands[i].name, commands[i].summary,
                handler_for(commands[i].name) ? "" : " (not built yet)");
    fprintf(f,
            "\n"
            "global options:\n"
            "  -h, --help      this text\n"
            "  --version       version and git revision\n"
            "  -v, --verbose   debug logging (same as RLAE_LOG=debug)\n"
            "  -q, --quiet     errors only (same as RLAE_LOG=error)\n"
            "\n"
            "Exit codes: 0 success, 1 runtime failure, 2 bad input or usage.\n"
            "Start with `rlae config show configs/demo.yaml` and `rlae config doc`.\n");
}

int main(int argc, char **argv)
{
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            print_main_help(stdout);
            return 0;
        } else if (strcmp(a, "--version") == 0) {
            printf("rlae %s (git %s, %s backend%s)\n", RLAE_VERSION, RLAE_GIT_REV,
#ifdef RLAE_HAVE_CUDA
                   "CUDA", " + CPU"
#else
                   "CPU", ""
#endif
            );
            return 0;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            rlae_log_set_level(RLAE_LOG_DEBUG);
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            rlae_log_set_level(RLAE_LOG_ERROR);
        } else {
            fprintf(stderr, "rlae: error: unknown option '%s'\n\n", a);
            print_main_help(stderr);
            return 2;
        }
    }
    if (i >= argc) {
        print_main_help(stderr);
        return 2;
    }
    const char *name = argv[i];
    const cli_command *c = cli_find_command(name);
    if (!c) {
        fprintf(stderr, "rlae: error: unknown command '%s'\n\n", name);
        print_main_help(stderr);
        return 2;
    }
    int (*run)(int, char **) = handler_for(name);
    if (!run) {
        if (cli_wants_help(argc - i, argv + i)) {
            fputs(c->help, stdout);
            printf("\nNote: `rlae %s` is not built yet in rlae %s.\n", name, RLAE_VERSION);
            return 0;
        }
        fprintf(stderr, "rlae %s: not available yet: this build of rlae %s has no %s engine.\n", name,
                RLAE_VERSION, name);
        return 2;
    }
    if (cli_wants_help(argc - i, argv + i))
        return cli_print_help(name);
    return run(argc - i, argv + i);
}
