# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The channel: frames, the two ends (docs/PROTOCOL.md)."""
import errno
import fcntl
import os
import socket
import stat
import struct
import time
from typing import (Iterable, List, Mapping, NamedTuple, NoReturn, Optional, Protocol,
                    Sequence, Tuple, Type, TypeVar, Union)

from google.protobuf.message import DecodeError, Message

from . import wire
from .errors import ChildFailed, EndOfStream, IpcError, error
from .text import sanitize, utf8_cut, valid_utf8
from .v1 import dropipc_pb2 as pb
from .validate import validate

MAGIC = b"DIPC"
VERSION = wire.VERSION
HEADER = struct.Struct("<4sHHII")
MAX_FDS = 16
DEFAULT_MAX_PAYLOAD = 1 << 20
MAX_PAYLOAD_LIMIT = 256 << 20
MAX_ERROR_TEXT = 4096
# The most of a child's report an error message quotes.
ERRMSG_QUOTE = 400
MAX_CUSTOM_TYPE = 256
CHILD_FD = 3

# _IOR('T', 0x30, unsigned int); Python's termios lacks it.
TIOCGPTN = 0x80045430

STAGE_NAMES = {1: "args", 2: "jail", 3: "pty", 4: "exec"}

M = TypeVar("M", bound=Message)


class HasFileno(Protocol):
    def fileno(self) -> int: ...


FileLike = Union[int, HasFileno]


class File(NamedTuple):
    """A named fd of a Files or Custom frame. Received, the fd is the
    caller's to close; sent, it stays the caller's."""
    name: str
    fd: int


class Custom(NamedTuple):
    """A launcher's own message (Envelope.custom): its type name, its bytes
    and its named fds (each received fd is the caller's to close)."""
    type: str
    data: bytes
    files: List[File]


def pty_expected(args: pb.ChildArgs, child_stdio: Sequence[FileLike] = (0, 1, 2)) -> bool:
    """Whether a child that got args sends a pty (so the parent calls
    recv_pty before wait_exec): args.pty PTY_ALWAYS yes, PTY_NEVER no,
    PTY_AUTO (and a value this version does not know, as an older child
    reads it) when one of the fds the child gets as its 0-2 is a terminal.
    child_stdio: those fds, as this process holds them."""
    if args.pty == pb.PTY_ALWAYS:
        return True
    if args.pty == pb.PTY_NEVER:
        return False
    return any(os.isatty(_fd_of(f)) for f in child_stdio)


def stage_name(stage: int) -> str:
    return STAGE_NAMES.get(stage, "unknown")


def _fd_of(f: FileLike) -> int:
    return f if isinstance(f, int) else f.fileno()


def _close_fds(fds: List[int]) -> None:
    for fd in fds:
        if fd >= 0:
            os.close(fd)
    fds.clear()


def check_custom_type(t: str) -> Optional[str]:
    """Why t cannot name a Custom message (1..256 bytes of printable ASCII),
    or None."""
    raw = t.encode("utf-8", "surrogatepass")
    if not 1 <= len(raw) <= MAX_CUSTOM_TYPE:
        return "custom.type: %d bytes, not 1..%d" % (len(raw), MAX_CUSTOM_TYPE)
    bad = next((i for i, b in enumerate(raw) if not 0x21 <= b <= 0x7E), None)
    if bad is not None:
        return "custom.type: byte %d is not printable ASCII" % bad
    return None


class _Conn:
    """Frames and fds over a SOCK_STREAM Unix socket (PROTOCOL.md, Frames)."""

    def __init__(self, sock: socket.socket) -> None:
        sock.set_inheritable(False)
        self.sock = sock
        self.timeout: Optional[float] = None
        self.max_payload = DEFAULT_MAX_PAYLOAD
        self.broken: Optional[str] = None
        self.op = ""

    def close(self) -> None:
        self.sock.close()

    def fileno(self) -> int:
        return self.sock.fileno()

    def settimeout(self, seconds: Optional[float]) -> None:
        if seconds is not None:
            seconds = float(seconds)
            if not seconds >= 0:  # also NaN
                raise ValueError("Timeout value out of range")
        self.timeout = seconds

    def set_max_payload(self, n: int) -> None:
        if not 1 <= n <= MAX_PAYLOAD_LIMIT:
            raise ValueError("max payload %d is not in 1..%d" % (n, MAX_PAYLOAD_LIMIT))
        self.max_payload = n

    def begin(self, op: str) -> None:
        self.op = op
        if self.broken:
            self.fail("DROPIPC_ERR_CLOSED", "connection unusable after an earlier %s" % self.broken)

    def fail(self, name: str, msg: str, broken: bool = False,
             child_error: Optional[pb.ChildError] = None) -> NoReturn:
        if broken:
            self.broken = name
        raise error(name, "%s: %s" % (self.op, msg), child_error)

    def _deadline(self) -> Optional[float]:
        return None if self.timeout is None else time.monotonic() + self.timeout

    def _arm(self, deadline: Optional[float], at: int) -> None:
        if deadline is None:
            self.sock.settimeout(None)
            return
        left = deadline - time.monotonic()
        if left <= 0:
            self._timed_out(at)
        self.sock.settimeout(left)

    def _timed_out(self, at: int) -> NoReturn:
        if at == 0:
            self.fail("DROPIPC_ERR_TIMEDOUT", "waiting for a frame: timed out")
        self.fail("DROPIPC_ERR_TIMEDOUT", "timed out after %d bytes of the frame" % at, True)

    def _io_fail(self, e: OSError, pos: int, first: str, later: str) -> NoReturn:
        """A failed system call at byte pos of a frame: message first (with
        the errno's text for %s) before the frame began, later within it."""
        err = e.errno or 0
        name = errno.errorcode.get(err, "UNKNOWN")
        if pos == 0:
            self.fail(name, first % os.strerror(err))
        self.fail(name, later % os.strerror(err), True)

    def send_frame(self, payload: bytes, fds: Sequence[int] = ()) -> None:
        if len(payload) > self.max_payload:
            self.fail("DROPIPC_ERR_TOOBIG", "payload of %d bytes exceeds the limit of %d bytes"
                      % (len(payload), self.max_payload))
        if len(fds) > MAX_FDS:
            self.fail("EINVAL", "%d fds, the maximum is %d" % (len(fds), MAX_FDS))
        data = HEADER.pack(MAGIC, VERSION, len(fds), len(payload), 0) + payload
        deadline = self._deadline()
        sent = 0
        try:
            self._arm(deadline, 0)
            # The fds go with the first byte; the rest, if any, without them.
            sent = socket.send_fds(self.sock, [data], list(fds), socket.MSG_NOSIGNAL)
            while sent < len(data):
                self._arm(deadline, sent)
                sent += self.sock.send(data[sent:], socket.MSG_NOSIGNAL)
        except socket.timeout:
            self._timed_out(sent)
        except IpcError:
            raise
        except OSError as e:
            self._io_fail(e, sent, "send: %s", "send: %%s after %d of %d bytes" % (sent, len(data)))

    def _recv_exact(self, n: int, at: int, fds: List[int], deadline: Optional[float]) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            pos = at + len(buf)
            try:
                self._arm(deadline, pos)
                data, got, flags, _ = socket.recv_fds(self.sock, n - len(buf), MAX_FDS,
                                                      socket.MSG_CMSG_CLOEXEC)
            except socket.timeout:
                self._timed_out(pos)
            except ConnectionResetError:
                # The peer closed with our data unread: it closed.
                data, got, flags = b"", [], 0
            except IpcError:
                raise
            except OSError as e:
                self._io_fail(e, pos, "waiting for a frame: %s",
                              "%%s after %d bytes of the frame" % pos)
            fds.extend(got)
            if flags & socket.MSG_CTRUNC:
                self.fail("DROPIPC_ERR_PROTO", "control data truncated after %d fds: the peer sent "
                          "more than %d, or this process is out of fds (RLIMIT_NOFILE)"
                          % (len(got), MAX_FDS), True)
            if got and pos > 0:
                self.fail("DROPIPC_ERR_PROTO", "%d fds arrived at byte %d of the frame, not with "
                          "its first byte" % (len(got), pos), True)
            if not data:
                if pos == 0:
                    self.fail("DROPIPC_ERR_OF", "peer closed the connection")
                self.fail("DROPIPC_ERR_TRUNC",
                          "peer closed the connection after %d bytes of the frame" % pos, True)
            buf += data
        return bytes(buf)

    def recv_frame(self) -> Tuple[bytes, List[int]]:
        """One whole frame as (payload, fds); on failure no fd is left open."""
        deadline = self._deadline()
        fds: List[int] = []
        try:
            hdr = self._recv_exact(HEADER.size, 0, fds, deadline)
            magic, version, nfds, length, reserved = HEADER.unpack(hdr)
            if magic != MAGIC:
                self.fail("DROPIPC_ERR_PROTO", "bad magic %s (expected \"DIPC\")"
                          % " ".join("%02x" % b for b in magic), True)
            if version != VERSION:
                self.fail("DROPIPC_ERR_PROTO", "peer speaks protocol version %d, this end speaks "
                          "version %d" % (version, VERSION), True)
            if reserved:
                self.fail("DROPIPC_ERR_PROTO", "reserved header field is 0x%x, not 0" % reserved,
                          True)
            if nfds > MAX_FDS:
                self.fail("DROPIPC_ERR_PROTO", "header announces %d fds, the maximum is %d"
                          % (nfds, MAX_FDS), True)
            if length > self.max_payload:
                self.fail("DROPIPC_ERR_TOOBIG", "payload of %d bytes exceeds the limit of %d bytes"
                          % (length, self.max_payload), True)
            if nfds != len(fds):
                self.fail("DROPIPC_ERR_PROTO", "header announces %d fds, %d arrived"
                          % (nfds, len(fds)), True)
            payload = self._recv_exact(length, HEADER.size, fds, deadline)
        except BaseException:
            _close_fds(fds)
            raise
        return payload, fds

    def send_envelope(self, env: pb.Envelope, fds: Sequence[int] = ()) -> None:
        self.send_frame(env.SerializeToString(), fds)

    def body(self, payload: bytes) -> Tuple[str, bytes]:
        try:
            return wire.envelope_body(payload)
        except IpcError as e:
            self.fail(e.name, e.msg)

    def recv_message(self, want: str, cls: Type[M]) -> Tuple[M, List[int]]:
        """Receives a frame whose body must be `want` (of class cls);
        returns (message, fds).

        An `error` body where something else is wanted fails with
        DROPIPC_ERR_CHILD and the ChildError attached to the exception."""
        payload, fds = self.recv_frame()
        try:
            name, data = self.body(payload)
            if name == "error" and want != "error":
                self.child_failed(self.unpack(pb.ChildError, data))
            if name != want:
                self.fail("DROPIPC_ERR_PROTO", "expected the %s message, got %s" % (want, name))
            return self.unpack(cls, data), fds
        except BaseException:
            _close_fds(fds)
            raise

    def child_failed(self, err: pb.ChildError) -> NoReturn:
        """The child's report: its text cut at 4096 bytes and sanitized in
        err itself (launchers print it: no terminal escapes from the
        sandbox), quoted in the error as one line of at most 400 bytes."""
        err.message = sanitize(utf8_cut(err.message.encode("utf-8"),
                                        MAX_ERROR_TEXT).decode("utf-8"))
        line = utf8_cut(err.message.encode("utf-8"), ERRMSG_QUOTE).decode("utf-8")
        self.fail("DROPIPC_ERR_CHILD", "child setup failed at %s: %s"
                  % (stage_name(err.stage), line.replace("\n", "?").replace("\t", "?")),
                  child_error=err)

    def unpack(self, cls: Type[M], data: bytes) -> M:
        try:
            wire.check(cls.DESCRIPTOR, data)
        except IpcError as e:
            self.fail(e.name, e.msg)
        if cls is pb.ChildError:
            data = wire.report_text(data)
        msg = cls()
        try:
            msg.ParseFromString(data)
        except DecodeError:
            self.fail("DROPIPC_ERR_PROTO", "%s does not unpack" % cls.DESCRIPTOR.name)
        return msg  # type: ignore[no-any-return]  # Message is Any without stubs


def _claim(conn: _Conn, fds: List[int], idx: int, what: str) -> int:
    if idx >= len(fds):
        conn.fail("DROPIPC_ERR_PROTO", "%s: fd index %d out of range (the frame has %d fds)"
                  % (what, idx, len(fds)))
    if fds[idx] < 0:
        conn.fail("DROPIPC_ERR_PROTO", "%s: fd index %d claimed twice" % (what, idx))
    fd, fds[idx] = fds[idx], -1
    return fd


def _finish(conn: _Conn, fds: List[int]) -> None:
    """Closes the fds no field claimed; an unclaimed fd is a protocol error."""
    left = [i for i, fd in enumerate(fds) if fd >= 0]
    _close_fds(fds)
    if left:
        conn.fail("DROPIPC_ERR_PROTO", "fd index %d claimed by no field" % left[0])


def _claim_files(conn: _Conn, entries: Sequence[pb.File], fds: List[int]) -> List[File]:
    """The named fds of a Files or Custom message: as many entries as fds,
    each named, each fd of the frame claimed by exactly one entry; on
    failure every fd is closed."""
    out: List[File] = []
    try:
        if len(entries) != len(fds):
            conn.fail("DROPIPC_ERR_PROTO", "%d files named for %d fds" % (len(entries), len(fds)))
        for i, f in enumerate(entries):
            if not f.name:
                conn.fail("DROPIPC_ERR_INVALID", "files[%d].name: empty" % i)
        for i, f in enumerate(entries):
            out.append(File(f.name, _claim(conn, fds, f.fd, "files[%d].fd" % i)))
        _finish(conn, fds)
    except BaseException:
        _close_fds([f.fd for f in out])
        _close_fds(fds)
        raise
    return out


def _check_pty_master(conn: _Conn, fd: int) -> None:
    st = os.fstat(fd)
    if stat.S_ISCHR(st.st_mode):
        try:
            fcntl.ioctl(fd, TIOCGPTN, b"\0\0\0\0")
            return
        except OSError:
            pass
    kinds = [(stat.S_ISREG, "a regular file"), (stat.S_ISDIR, "a directory"),
             (stat.S_ISFIFO, "a pipe"), (stat.S_ISSOCK, "a socket"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISCHR, "a character device")]
    kind = next((k for test, k in kinds if test(st.st_mode)), "of unknown type")
    conn.fail("DROPIPC_ERR_NOTPTY", "the fd sent as pty master is %s, not a pty master" % kind)


def _named(files: Union[Mapping[str, FileLike], Iterable[Tuple[str, FileLike]]]
           ) -> List[Tuple[str, int]]:
    items = files.items() if isinstance(files, Mapping) else files
    return [(name, _fd_of(f)) for name, f in items]


# ---- the two ends -------------------------------------------------------------

def _adopt(sock_or_fd: Union[socket.socket, int]) -> socket.socket:
    if isinstance(sock_or_fd, socket.socket):
        return sock_or_fd
    return socket.socket(fileno=sock_or_fd)


class _End:
    def __init__(self, sock_or_fd: Union[socket.socket, int]) -> None:
        self.conn = _Conn(_adopt(sock_or_fd))
        self.child_error: Optional[pb.ChildError] = None

    def close(self) -> None:
        self.conn.close()

    def fileno(self) -> int:
        return self.conn.fileno()

    def __enter__(self: "E") -> "E":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def settimeout(self, seconds: Optional[float]) -> None:
        """As socket.settimeout: seconds (a float: 0.5 is half a second) for
        each whole send or receive, after which it raises TimedOut (a
        TimeoutError); None (the default): wait forever; 0: do not wait.
        Negative values raise ValueError. (0.x's set_timeout took
        milliseconds; it is gone rather than silently a thousand times
        longer.)"""
        self.conn.settimeout(seconds)

    def gettimeout(self) -> Optional[float]:
        """The timeout in seconds, or None: as socket.gettimeout."""
        return self.conn.timeout

    def set_max_payload(self, n: int) -> None:
        """The largest payload the end sends or accepts (default 1 MiB)."""
        self.conn.set_max_payload(n)

    def _recv(self, op: str, want: str, cls: Type[M]) -> Tuple[M, List[int]]:
        self.child_error = None
        self.conn.begin(op)
        try:
            return self.conn.recv_message(want, cls)
        except IpcError as e:
            self.child_error = e.child_error
            raise

    def send_files(self, files: Union[Mapping[str, FileLike],
                                      Iterable[Tuple[str, FileLike]]]) -> None:
        """Sends 1..16 named fds (a dict name -> fd or file, or pairs) in one
        Files frame; they stay the caller's."""
        c = self.conn
        c.begin("send files")
        named = _named(files)
        if not 1 <= len(named) <= MAX_FDS:
            c.fail("EINVAL", "%d files, not 1..%d" % (len(named), MAX_FDS))
        for i, (name, _) in enumerate(named):
            if not name:
                c.fail("EINVAL", "files[%d]: no name" % i)
        msg = pb.Files(files=[pb.File(name=n, fd=i) for i, (n, _) in enumerate(named)])
        c.send_envelope(pb.Envelope(files=msg), [fd for _, fd in named])

    def recv_files(self) -> List[File]:
        """The named fds of a Files frame, each the caller's to close. On the
        parent's end a child's report raises ChildFailed."""
        msg, fds = self._recv("recv files", "files", pb.Files)
        if not msg.files:
            _close_fds(fds)
            self.conn.fail("DROPIPC_ERR_PROTO", "0 files named for %d fds" % len(fds))
        return _claim_files(self.conn, msg.files, fds)

    def send_custom(self, type: str, data: bytes = b"",
                    files: Union[Mapping[str, FileLike],
                                 Iterable[Tuple[str, FileLike]]] = ()) -> None:
        """Sends a launcher's own message: type names it (1..256 bytes of
        printable ASCII, e.g. "org.example.Limits/1"), data is its bytes,
        files its named fds (0..16; they stay the caller's). Send it only to
        a peer known to expect it. A wrong type or count raises IpcError
        with errno EINVAL, as the C library's -EINVAL."""
        c = self.conn
        c.begin("send custom")
        named = _named(files)
        if len(named) > MAX_FDS:
            c.fail("EINVAL", "no type, no data, or %d files (0..%d)" % (len(named), MAX_FDS))
        why = check_custom_type(type)
        if why:
            c.fail("EINVAL", why)
        for i, (name, _) in enumerate(named):
            if not name:
                c.fail("EINVAL", "files[%d]: no name" % i)
        msg = pb.Custom(type=type, data=bytes(data),
                        files=[pb.File(name=n, fd=i) for i, (n, _) in enumerate(named)])
        c.send_envelope(pb.Envelope(custom=msg), [fd for _, fd in named])

    def recv_custom(self) -> Custom:
        """A launcher's own message, its fds the caller's to close. On the
        parent's end a child's report raises ChildFailed."""
        msg, fds = self._recv("recv custom", "custom", pb.Custom)
        why = check_custom_type(msg.type)
        if why:
            _close_fds(fds)
            self.conn.fail("DROPIPC_ERR_INVALID", why)
        return Custom(msg.type, msg.data, _claim_files(self.conn, msg.files, fds))


E = TypeVar("E", bound=_End)


class ParentEnd(_End):
    """The parent's end, in the launcher: a connected Unix stream socket
    (socket object or fd), made close-on-exec."""

    def send_child_args(self, args: pb.ChildArgs) -> None:
        """Validates args (a ChildArgs) and sends them, asking the child to
        confirm its exec (see wait_exec). args is left as it was."""
        self.conn.begin("send child args")
        try:
            validate(args)
        except IpcError as e:
            self.conn.fail(e.name, e.msg)
        msg = pb.ChildArgs()
        msg.CopyFrom(args)
        msg.confirm_exec = True
        self.conn.send_envelope(pb.Envelope(child_args=msg))

    def recv_pty(self) -> int:
        """The child's pty master, an fd the caller owns (close-on-exec).
        Raises EndOfStream if the child closed first, ChildFailed if it
        reported a setup failure, NotAPty if the fd is not a pty master."""
        c = self.conn
        pty, fds = self._recv("recv pty", "pty", pb.PtyHandoff)
        fd = -1
        try:
            if len(fds) != 1:
                c.fail("DROPIPC_ERR_PROTO", "expected 1 fd, got %d" % len(fds))
            fd = _claim(c, fds, pty.master_fd, "master_fd")
            _finish(c, fds)
            _check_pty_master(c, fd)
        except BaseException:
            _close_fds(fds)
            if fd >= 0:
                os.close(fd)
            raise
        return fd

    def wait_exec(self) -> None:
        """Waits for the outcome of the child's exec (after send_child_args,
        and recv_pty if the child sends a pty). Returns when the child
        confirmed its exec (ExecConfirm) and then closed the channel: the exec
        succeeded. Raises NoExec when the channel closed without the
        confirmation (the child died first, or does not confirm), ChildFailed
        when the child reported a failure, ProtocolError for another message."""
        c = self.conn
        try:
            _, fds = self._recv("wait exec", "exec", pb.ExecConfirm)
            _finish(c, fds)
        except EndOfStream:
            c.fail("DROPIPC_ERR_NOEXEC", "the child closed the channel without confirming its exec")
        # Confirmed: now end-of-stream, or the exec's failure.
        try:
            payload, fds = c.recv_frame()
        except EndOfStream:
            return
        _close_fds(fds)
        name, data = c.body(payload)
        if name != "error":
            c.fail("DROPIPC_ERR_PROTO",
                   "expected end of stream after the exec confirmation, got %s" % name)
        self.child_error = c.unpack(pb.ChildError, data)
        c.child_failed(self.child_error)


# The failures of a receive of ChildArgs that a child reports (PROTOCOL.md).
_REPORTABLE = {"DROPIPC_ERR_PROTO", "DROPIPC_ERR_TOOBIG", "DROPIPC_ERR_INVALID", "DROPIPC_ERR_UNSUPPORTED",
               "ENOMEM"}


class ChildEnd(_End):
    """The child's end, in the sandbox: fd 3 by default, made close-on-exec
    so that the parent sees end-of-stream exactly when the exec succeeds.
    In the parent (from new_parent_child_socket), pass its fileno() to the
    child as fd 3, then close it."""

    def __init__(self, sock_or_fd: Union[socket.socket, int] = CHILD_FD) -> None:
        super().__init__(sock_or_fd)
        self.confirm = False

    @property
    def socket(self) -> socket.socket:
        return self.conn.sock

    def recv_child_args(self) -> pb.ChildArgs:
        """The parent's ChildArgs, validated; its OS strings are bytes (see
        dropipc.decode for str). Raises EndOfStream if the parent closed
        first. Arguments it cannot use it reports to the parent itself, as
        docs/PROTOCOL.md says (a ChildError at STAGE_ARGS), also when the
        frame broke the stream."""
        try:
            return self._recv_child_args()
        except IpcError as e:
            self._report_args_failure(e)
            raise

    def _report_args_failure(self, e: IpcError) -> None:
        """Tells the parent that its ChildArgs could not be used: not when
        the parent is gone (EOF, ETRUNC, a reset), nor for a timeout (the
        caller may try again), nor on a connection an earlier error broke
        (that one was reported). The error stays the receive's."""
        if e.name not in _REPORTABLE:
            return
        c = self.conn
        # A receive that lost its place in the stream leaves the sending
        # direction as it was: frames still go out whole.
        broken, c.broken = c.broken, None
        what = e.msg[len("recv args: "):] if e.msg.startswith("recv args: ") else e.msg
        try:
            self.send_error(pb.ChildError.STAGE_ARGS, errno.ENOMEM if e.name == "ENOMEM" else 0,
                            "cannot use the arguments: " + what)
        except IpcError:
            pass
        finally:
            if broken:
                c.broken = broken
            c.op = "recv args"

    def _recv_child_args(self) -> pb.ChildArgs:
        c = self.conn
        try:
            args, fds = self._recv("recv args", "child_args", pb.ChildArgs)
        except ChildFailed:
            c.fail("DROPIPC_ERR_PROTO", "expected the child_args message, got error")
        _finish(c, fds)
        try:
            validate(args)
        except IpcError as e:
            c.fail(e.name, e.msg)
        self.confirm = args.confirm_exec
        return args

    def send_pty(self, master: FileLike) -> None:
        """Hands the pty master (an fd or a file) to the parent; it stays the
        caller's."""
        self.conn.begin("send pty")
        self.conn.send_envelope(pb.Envelope(pty=pb.PtyHandoff(master_fd=0)), [_fd_of(master)])

    def confirm_exec(self) -> None:
        """Right before exec: tells the parent that the exec is next, when it
        asked for it (an older parent did not: then nothing is sent). If the
        exec fails, report it with send_error(STAGE_EXEC, ...)."""
        self.conn.begin("confirm exec")
        if self.confirm:
            self.conn.send_envelope(pb.Envelope(exec=pb.ExecConfirm()))

    def send_error(self, stage: int, err: int, message: Union[str, bytes]) -> None:
        """Reports a setup failure. The text (str or bytes, as it may hold a
        path) is cut at 4096 bytes; bytes that are not UTF-8 become '?'."""
        self.conn.begin("send error")
        text = valid_utf8(message)
        text = utf8_cut(text.encode("utf-8"), MAX_ERROR_TEXT).decode("utf-8")
        e = pb.ChildError(stage=stage, errno_value=err, message=text)  # type: ignore[arg-type]
        self.conn.send_envelope(pb.Envelope(error=e))


def new_parent_child_socket() -> Tuple[ParentEnd, ChildEnd]:
    """(ParentEnd, ChildEnd) of a new channel, both close-on-exec."""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    return ParentEnd(a), ChildEnd(b)
