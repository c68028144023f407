# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The exceptions: every failure is an OSError, as with the socket module.

A failure of the protocol raises the subclass of IpcError named after its
class in docs/PROTOCOL.md (ProtocolError for DROPIPC_ERR_PROTO, ...), with
errno set where one fits (EPROTO, ETIMEDOUT, EINVAL, EMSGSIZE, ENOTTY,
EOPNOTSUPP). A failed system call raises IpcError combined with the OSError
subclass Python gives its errno: BrokenPipeError for EPIPE,
ConnectionResetError for ECONNRESET, and so on."""
import errno
from typing import Dict, Optional, Type

from .v1 import dropipc_pb2 as pb


class IpcError(OSError):
    """A failure of one end. name is the class of PROTOCOL.md
    ("DROPIPC_ERR_PROTO", ...) or the errno's name ("EPIPE") for a system
    call; msg (also str(e)) names what failed; errno is set where there is
    one; child_error is the child's report (ChildFailed only)."""

    name: str
    msg: str
    child_error: Optional[pb.ChildError]

    def __init__(self, name: str, msg: str, child_error: Optional[pb.ChildError] = None) -> None:
        err = _ERRNO.get(name, getattr(errno, name, None) if name.startswith("E") else None)
        if err is None:
            super().__init__(msg)
        else:
            super().__init__(err, msg)
        self.name = name
        self.msg = msg
        self.child_error = child_error

    def __str__(self) -> str:
        return self.msg


class EndOfStream(IpcError, EOFError):
    """DROPIPC_ERR_OF: the peer closed the connection between frames."""


class Truncated(IpcError):
    """DROPIPC_ERR_TRUNC: the peer closed the connection in the middle of a frame."""


class ProtocolError(IpcError):
    """DROPIPC_ERR_PROTO: a protocol violation (errno EPROTO)."""


class TooBig(IpcError):
    """DROPIPC_ERR_TOOBIG: a frame larger than the size limit (errno EMSGSIZE)."""


class TimedOut(IpcError, TimeoutError):
    """DROPIPC_ERR_TIMEDOUT: the whole send or receive did not finish in time
    (errno ETIMEDOUT)."""


class InvalidMessage(IpcError):
    """DROPIPC_ERR_INVALID: a message that failed validation, the field named
    (errno EINVAL)."""


class Unsupported(IpcError):
    """DROPIPC_ERR_UNSUPPORTED: an envelope body this version does not know
    (errno EOPNOTSUPP)."""


class ChildFailed(IpcError):
    """DROPIPC_ERR_CHILD: the child reported a setup failure (child_error)."""


class NotAPty(IpcError):
    """DROPIPC_ERR_NOTPTY: the fd sent as pty master is not one (errno ENOTTY)."""


class ConnectionUnusable(IpcError):
    """DROPIPC_ERR_CLOSED: the connection is unusable after an earlier error."""


class NoExec(IpcError):
    """DROPIPC_ERR_NOEXEC: the child closed the channel without confirming its exec."""


class BrokenPipe(IpcError, BrokenPipeError):
    """EPIPE: the peer is gone while this end was sending."""


class ConnectionReset(IpcError, ConnectionResetError):
    """ECONNRESET: the peer closed with data unread."""


_ERRNO: Dict[str, Optional[int]] = {
    "DROPIPC_ERR_PROTO": errno.EPROTO, "DROPIPC_ERR_TIMEDOUT": errno.ETIMEDOUT,
    "DROPIPC_ERR_INVALID": errno.EINVAL, "DROPIPC_ERR_TOOBIG": errno.EMSGSIZE,
    "DROPIPC_ERR_NOTPTY": errno.ENOTTY, "DROPIPC_ERR_UNSUPPORTED": errno.EOPNOTSUPP,
}

_CLASSES: Dict[str, Type[IpcError]] = {
    "DROPIPC_ERR_OF": EndOfStream, "DROPIPC_ERR_TRUNC": Truncated, "DROPIPC_ERR_PROTO": ProtocolError,
    "DROPIPC_ERR_TOOBIG": TooBig, "DROPIPC_ERR_TIMEDOUT": TimedOut, "DROPIPC_ERR_INVALID": InvalidMessage,
    "DROPIPC_ERR_UNSUPPORTED": Unsupported, "DROPIPC_ERR_CHILD": ChildFailed,
    "DROPIPC_ERR_NOTPTY": NotAPty, "DROPIPC_ERR_CLOSED": ConnectionUnusable, "DROPIPC_ERR_NOEXEC": NoExec,
    "EPIPE": BrokenPipe, "ECONNRESET": ConnectionReset,
}


def error_class(name: str) -> Type[IpcError]:
    """The class raised for name: a DROPIPC_ class's own, else for an
    errno name IpcError joined to the OSError subclass of that errno (made
    once, then kept), else IpcError."""
    cls = _CLASSES.get(name)
    if cls is not None:
        return cls
    err = getattr(errno, name, None) if name.startswith("E") else None
    base = type(OSError(err, "")) if isinstance(err, int) else OSError
    if base is OSError:
        return IpcError
    cls = type("Ipc" + base.__name__, (IpcError, base), {"__doc__": "%s: %s" % (name, base.__doc__)})
    _CLASSES[name] = cls
    return cls


def error(name: str, msg: str, child_error: Optional[pb.ChildError] = None) -> IpcError:
    return error_class(name)(name, msg, child_error)
