# SPDX-License-Identifier: Apache-2.0
"""The Python peer of libdropipc: the parent/child setup channel of a
sandbox launcher, from docs/PROTOCOL.md and the schema (dropipc.v1, whose
message classes protoc generated when the package was built).

    parent, child = dropipc.new_parent_child_socket()
    ... start the child with child.fileno() as its fd 3, then child.close()
    parent.send_child_args(args)        # a dropipc.ChildArgs
    master = parent.recv_pty()          # the child's pty master, an fd
    parent.wait_exec()                  # returns once the exec succeeded

Failures raise IpcError subclasses named after the classes of PROTOCOL.md.
"""
from .ipc import (CHILD_FD, DEFAULT_MAX_PAYLOAD, MAX_ERROR_TEXT, MAX_FDS, MAX_PAYLOAD_LIMIT,
                  VERSION, ChildEnd, ChildFailed, ConnectionUnusable, EndOfStream, InvalidMessage,
                  IpcError, NoExec, NotAPty, ParentEnd, ProtocolError, TimedOut, TooBig,
                  Truncated, Unsupported, new_parent_child_socket, stage_name, validate)
from .v1 import dropipc_pb2 as pb

ChildArgs = pb.ChildArgs
ChildError = pb.ChildError
STAGE_ARGS = pb.ChildError.STAGE_ARGS
STAGE_JAIL = pb.ChildError.STAGE_JAIL
STAGE_PTY = pb.ChildError.STAGE_PTY
STAGE_EXEC = pb.ChildError.STAGE_EXEC

__all__ = [
    "CHILD_FD", "DEFAULT_MAX_PAYLOAD", "MAX_ERROR_TEXT", "MAX_FDS", "MAX_PAYLOAD_LIMIT", "VERSION",
    "ChildArgs", "ChildEnd", "ChildError", "ChildFailed", "ConnectionUnusable", "EndOfStream",
    "InvalidMessage", "IpcError", "NoExec", "NotAPty", "ParentEnd", "ProtocolError",
    "STAGE_ARGS", "STAGE_EXEC", "STAGE_JAIL", "STAGE_PTY", "TimedOut", "TooBig", "Truncated",
    "Unsupported", "new_parent_child_socket", "pb", "stage_name", "validate",
]
