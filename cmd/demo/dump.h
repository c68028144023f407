/*
 * The dump format: the canonical text of a ChildArgs, the same in every
 * language (see the brief's "Shared contracts"). One line per scalar value,
 * "path=value", in field-number order, depth-first; absent submessages print
 * nothing.
 */
#ifndef DROPIPC_DEMO_DUMP_H
#define DROPIPC_DEMO_DUMP_H

#include <stdio.h>

#include <dropipc/dropipc.h>

/* Writes the dump of msg to f, each line preceded by indent. Returns 0, or
 * -errno if writing failed. */
int dump_message(FILE *f, const ProtobufCMessage *msg, const char *indent);

/* Writes the dump of args to the file at path (created or truncated).
 * Returns 0 or -errno. */
int dump_to_file(const char *path, const dropipc_child_args *args);

#endif
