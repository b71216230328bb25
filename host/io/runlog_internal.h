/* What runlog.c (writer) and runlog_read.c (reader) share, defined in runlog_schema.c: table names, the HDF5
 * compound types of every table (the in-memory row structs of runlog.h; on disk the same fields packed, with
 * the per-member arrays sized K), and small attribute helpers. */
#ifndef RLAE_IO_RUNLOG_INTERNAL_H
#define RLAE_IO_RUNLOG_INTERNAL_H

#include <hdf5.h>

#include "io/runlog.h"

/* The memory type of table t's row struct (file != 0: the packed on-disk type). Caller closes. */
hid_t runlog_row_type(rlae_runlog_table t, int K, int file);
/* A copy of the compound type t without its member `name` (same size and offsets): reading with it
 * leaves that field as the caller's buffer had it, writing with it leaves the file's field out.
 * Closes t. */
hid_t runlog_type_without(hid_t t, const char *name);
/* mt (table t's memory type) without the optional fields that dataset ds lacks (/eval `tokens` and
 * `gen_seconds`, added within schema version 2); *lacking = 1 when any was dropped. Closes mt when it
 * returns a new type. */
hid_t runlog_type_for_dataset(rlae_runlog_table t, hid_t mt, hid_t ds, int *lacking);
/* Row struct size of table t. */
size_t runlog_row_size(rlae_runlog_table t);
/* Current extent of a 1-D dataset, or -1. */
int64_t runlog_extent(hid_t ds);
/* Reads rows [start, start+n) of a 1-D dataset with memory type mt. */
herr_t runlog_read_rows(hid_t ds, hid_t mt, int64_t start, int64_t n, void *buf);
/* Reads a scalar integer / string attribute of an object; returns < 0 when absent or mistyped.
 * The string is malloc'd. */
int runlog_attr_int(hid_t obj, const char *name, int64_t *v);
int runlog_attr_string(hid_t obj, const char *name, char **s);
/* Reads a 1-D string array attribute (n strings, each malloc'd into out[i]). */
int runlog_attr_strings(hid_t obj, const char *name, int n, char **out);
/* Writes a scalar string, a string array, or an int64 array (scalar != 0: one value) attribute. */
herr_t runlog_put_attr_string(hid_t obj, const char *name, const char *v);
herr_t runlog_put_attr_strings(hid_t obj, const char *name, int n, const char *const *v);
herr_t runlog_put_attr_ints(hid_t obj, const char *name, int n, const int64_t *v, int scalar);
/* Turns off HDF5's printing of its error stack: library code reports errors as rlae_status. */
void runlog_quiet_hdf5(void);

#endif
