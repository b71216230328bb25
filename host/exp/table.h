/* The paper-style tables of an experiment (experiment.h), read from its runs' files:
 *
 *   accuracy  rows = methods, columns = tasks + average; a cell is the mean +- sample standard
 *             deviation (n - 1) over seeds of the accuracy in the eval run's eval.h5 (/eval, the row
 *             of the whole task); the average column is the mean +- std over seeds of each seed's
 *             average over the tasks. The std is left out with a single seed.
 *   latency   the same cells for ms per generated token and generated tokens/s, from the tokens and
 *             generation seconds `rlae eval` stores in eval.h5 (/eval tokens, gen_seconds); runs
 *             without them (or scored by log-likelihood) fall back to per-item time, marked.
 *
 * A cell some of whose seeds have no result reads "missing (k/n seeds)" (k = seeds present); it is
 * never left out or averaged over fewer seeds. The best complete cell of every column (highest
 * accuracy, lowest latency) is marked: bold in md and tex, a trailing * in csv. With a grid, one
 * table per grid point; with `by` (a grid key, or its last component: "span"), the columns are that
 * key's values and the cells the average over tasks, one table per point of the other keys. */
#ifndef RLAE_EXP_TABLE_H
#define RLAE_EXP_TABLE_H

#include "exp/experiment.h"

#include <stdio.h>

typedef enum { RLAE_TABLE_MD = 0, RLAE_TABLE_CSV, RLAE_TABLE_TEX } rlae_table_format;
typedef enum { RLAE_TABLE_ACCURACY = 0, RLAE_TABLE_LATENCY } rlae_table_metric;

typedef struct {
    rlae_table_format format;
    rlae_table_metric metric;
    const char *by; /* NULL: columns are tasks */
} rlae_table_options;

/* Writes the tables to out. Unknown `by` keys are RLAE_ERR_INPUT; a done run whose result file
 * cannot be read is a missing cell, with a warning naming the file on stderr. */
rlae_status rlae_table_write(const rlae_experiment *e, const rlae_table_options *opt, FILE *out);

#endif
