/* SPDX-License-Identifier: Apache-2.0 OR MIT */
/*
 * The dump format: the canonical text of a ChildArgs, the same in every
 * language, so that tests can compare what a parent sent with what a child
 * got (the demo, and the Go and Python peers in test/peers, write it when
 * DROPIPC_DUMP_SENT or DROPIPC_DUMP_ARGS name a file).
 *
 * One line per scalar value, "path=value\n", in field-number order, depth
 * first, every field of every present message including zero values
 * (absent submessages print nothing); a repeated field gives one line per
 * element, "config.mounts[0].source=~/docs". Bools are true or false, enums
 * and integers decimal numbers. In strings a backslash becomes "\\", a
 * newline "\n", any other byte below 0x20 and 0x7f "\xNN" (lowercase hex);
 * other bytes are written as they are. The C demo writes it through the
 * dropipc_args getters, in the schema's order; confirm_exec, which the
 * library sets and keeps to itself, is not in it. A term_size whose fields
 * are all 0 means what an absent one means, and is written as absent.
 */
#ifndef DROPIPC_DEMO_DUMP_H
#define DROPIPC_DEMO_DUMP_H

#include <stdbool.h>
#include <stdio.h>

#include <dropipc/dropipc.h>

/* Writes the dump of args to f, each line preceded by indent. Returns 0, or
 * -errno if writing failed. */
int dump_args(FILE *f, const dropipc_args *args, const char *indent);

/* Writes the dump of args to the file at path (created or truncated).
 * Returns 0 or -errno. */
int dump_to_file(const char *path, const dropipc_args *args);

#endif
