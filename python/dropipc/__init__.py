# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The Python peer of libdropipc: the parent/child setup channel of a
sandbox launcher, from docs/PROTOCOL.md and the schema (dropipc.v1, whose
message classes protoc generated when the package was built).

    parent, child = dropipc.new_parent_child_socket()
    ... start the child with child.fileno() as its fd 3, then child.close()
    parent.settimeout(10.0)             # seconds, as socket.settimeout
    parent.send_child_args(dropipc.child_args(env_id="dev", exec_args=["ls"], ...))
    master = parent.recv_pty()          # the child's pty master, an fd
    parent.wait_exec()                  # returns once the exec succeeded

OS strings (paths, arguments, environment) are bytes in the messages;
child_args() takes str or bytes (os.fsencode), decode() gives str
(os.fsdecode). Failures raise IpcError, an OSError: its subclasses are
named after the classes of PROTOCOL.md (TimedOut is a TimeoutError,
EndOfStream an EOFError), and a failed system call's is that errno's
OSError subclass too (BrokenPipeError, ConnectionResetError, ...).
"""
from .errors import (BrokenPipe, ChildFailed, ConnectionReset, ConnectionUnusable, EndOfStream,
                     InvalidMessage, IpcError, NoExec, NotAPty, ProtocolError, TimedOut, TooBig,
                     Truncated, Unsupported)
from .ipc import (CHILD_FD, DEFAULT_MAX_PAYLOAD, MAX_CUSTOM_TYPE, MAX_ERROR_TEXT, MAX_FDS,
                  MAX_PAYLOAD_LIMIT, VERSION, ChildEnd, Custom, File, ParentEnd,
                  new_parent_child_socket, pty_expected, stage_name)
from .osstr import OSString, child_args, decode
from .text import sanitize
from .v1 import dropipc_pb2 as pb
from .validate import validate

try:
    from ._version import __version__
except ImportError:  # a source tree that was never built
    __version__ = "0+unknown"

ChildArgs = pb.ChildArgs
ChildError = pb.ChildError
PtyMode = pb.PtyMode
STAGE_ARGS = pb.ChildError.STAGE_ARGS
STAGE_JAIL = pb.ChildError.STAGE_JAIL
STAGE_PTY = pb.ChildError.STAGE_PTY
STAGE_EXEC = pb.ChildError.STAGE_EXEC
PTY_AUTO = pb.PTY_AUTO
PTY_ALWAYS = pb.PTY_ALWAYS
PTY_NEVER = pb.PTY_NEVER

__all__ = [
    "BrokenPipe", "CHILD_FD", "ChildArgs", "ChildEnd", "ChildError", "ChildFailed",
    "ConnectionReset", "ConnectionUnusable", "Custom", "DEFAULT_MAX_PAYLOAD", "EndOfStream",
    "File", "InvalidMessage", "IpcError", "MAX_CUSTOM_TYPE", "MAX_ERROR_TEXT", "MAX_FDS",
    "MAX_PAYLOAD_LIMIT", "NoExec", "NotAPty", "OSString", "PTY_ALWAYS", "PTY_AUTO", "PTY_NEVER",
    "ParentEnd", "ProtocolError", "PtyMode", "STAGE_ARGS", "STAGE_EXEC", "STAGE_JAIL",
    "STAGE_PTY", "TimedOut", "TooBig", "Truncated", "Unsupported", "VERSION", "__version__",
    "child_args", "decode", "new_parent_child_socket", "pb", "pty_expected", "sanitize",
    "stage_name",
    "validate",
]
