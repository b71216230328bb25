/* `rlae train CONFIG [key=value ...]` and `rlae train --resume RUN_DIR [key=value ...]`: the RLAE
 * training loop (run/trainer.h) with one progress line per iteration on stdout. SIGINT / SIGTERM
 * finish the current iteration, write a checkpoint and exit 130; a second signal kills at once.
 * Under mpirun / srun with dist.backend mpi or nccl every rank runs this: the communicator
 * (dist/comm.h) is opened here, around the training, and an error on one rank ends the whole job
 * (after the rank printed it), so no rank waits forever in a collective. */
#include "cli.h"

#include "config/config.h"
#include "core/fs.h"
#include "core/log.h"
#include "dist/comm.h"
#include "run/trainer.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_OVERRIDES = 256 };

static void on_signal(int sig)
{
    rlae_train_request_stop();
    signal(sig, SIG_DFL); /* a second signal is not polite any more */
}

int cmd_train(int argc, char **argv)
{
    const char *config = NULL, *resume = NULL;
    char *overrides[MAX_OVERRIDES + 1];
    int n_overrides = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--resume") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error("train", "--resume needs the run directory");
            resume = argv[++i];
        } else if (a[0] == '-') {
            return cli_usage_error("train", "unknown option '%s'", a);
        } else if (strchr(a, '=')) {
            if (n_overrides == MAX_OVERRIDES)
                return cli_usage_error("train", "too many overrides (at most %d)", MAX_OVERRIDES);
            overrides[n_overrides++] = argv[i];
        } else if (!config) {
            config = a;
        } else {
            return cli_usage_error("train", "unexpected argument '%s': overrides are key.sub=value", a);
        }
    }
    if (!config == !resume)
        return cli_usage_error("train", "give a CONFIG to start a run, or --resume RUN_DIR to continue one");
    char *resume_cfg = NULL, *out_override = NULL;
    if (resume) {
        /* the run's own resolved config; its directory is where the run now lives */
        resume_cfg = rlae_path_join(resume, "config.yaml");
        size_t n = strlen(resume) + 16;
        out_override = malloc(n);
        if (!resume_cfg || !out_override) {
            free(resume_cfg);
            free(out_override);
            return cli_report("train", RLAE_ERR_NOMEM);
        }
        snprintf(out_override, n, "run.out_dir=%s", resume);
        overrides[n_overrides++] = out_override;
        if (!rlae_path_exists(resume_cfg)) {
            rlae_status s = rlae_fail(RLAE_ERR_INPUT, "%s: not a run directory (no config.yaml); give the "
                                      "run.out_dir of an earlier rlae train", resume);
            free(resume_cfg);
            free(out_override);
            return cli_report("train", s);
        }
        config = resume_cfg;
    }
    rlae_config cfg;
    memset(&cfg, 0, sizeof cfg);
    rlae_status s = rlae_config_load(config, n_overrides, overrides, &cfg);
    rlae_comm *comm = NULL;
    if (s == RLAE_OK && (s = rlae_comm_open(cfg.dist.backend, &comm)) == RLAE_OK && rlae_comm_size(comm) > 1)
        rlae_log_set_rank(rlae_comm_rank(comm));
    if (s == RLAE_OK) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
        rlae_train_options opt = {.resume = resume != NULL, .progress = stdout, .comm = comm};
        s = rlae_train(&cfg, &opt, NULL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
    }
    rlae_config_free(&cfg);
    free(resume_cfg);
    free(out_override);
    if (s != RLAE_OK && rlae_comm_size(comm) > 1 && strncmp(rlae_last_error(), "rank ", 5) != 0)
        rlae_wrap(s, "rank %d of %d: ", rlae_comm_rank(comm), rlae_comm_size(comm));
    int rc = cli_report("train", s);
    if (s != RLAE_OK && s != RLAE_ERR_INTERRUPTED && rlae_comm_size(comm) > 1) {
        fflush(stdout);
        fflush(stderr);
        rlae_comm_abort(comm, rc); /* the other ranks may be waiting in a collective */
    }
    rlae_comm_close(comm);
    return rc;
}
