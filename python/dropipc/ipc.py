# SPDX-License-Identifier: Apache-2.0
"""The channel: frames, the two ends, validation (docs/PROTOCOL.md)."""
import errno
import fcntl
import ipaddress
import os
import socket
import stat
import struct
import time

from google.protobuf import descriptor as _desc
from google.protobuf.message import DecodeError

from .v1 import dropipc_pb2 as pb

MAGIC = b"DIPC"
VERSION = 1
HEADER = struct.Struct("<4sHHII")
MAX_FDS = 16
DEFAULT_MAX_PAYLOAD = 1 << 20
MAX_PAYLOAD_LIMIT = 256 << 20
MAX_ERROR_TEXT = 4096
CHILD_FD = 3

# _IOR('T', 0x30, unsigned int); Python's termios lacks it.
TIOCGPTN = 0x80045430

STAGE_NAMES = {1: "args", 2: "jail", 3: "pty", 4: "exec"}


class IpcError(Exception):
    """A failure of one end: name is the class of PROTOCOL.md
    ("DROPIPC_EPROTO", ...) or an errno name ("EPIPE") for a system call;
    msg names what failed. Each DROPIPC_ class has its subclass below."""

    def __init__(self, name, msg, child_error=None):
        super().__init__(msg)
        self.name = name
        self.msg = msg
        self.child_error = child_error
        self.errno = getattr(errno, name, None)

    def __str__(self):
        return self.msg


class EndOfStream(IpcError, EOFError):
    """DROPIPC_EOF: the peer closed the connection between frames."""


class Truncated(IpcError):
    """DROPIPC_ETRUNC: the peer closed the connection in the middle of a frame."""


class ProtocolError(IpcError):
    """DROPIPC_EPROTO: a protocol violation."""


class TooBig(IpcError):
    """DROPIPC_ETOOBIG: a frame larger than the size limit."""


class TimedOut(IpcError, TimeoutError):
    """DROPIPC_ETIMEDOUT: the whole send or receive did not finish in time."""


class InvalidMessage(IpcError):
    """DROPIPC_EINVAL: a message that failed validation (the field is named)."""


class Unsupported(IpcError):
    """DROPIPC_EUNSUPPORTED: an envelope body this version does not know."""


class ChildFailed(IpcError):
    """DROPIPC_ECHILD: the child reported a setup failure (child_error)."""


class NotAPty(IpcError):
    """DROPIPC_ENOTPTY: the fd sent as pty master is not one."""


class ConnectionUnusable(IpcError):
    """DROPIPC_ECLOSED: the connection is unusable after an earlier error."""


class NoExec(IpcError):
    """DROPIPC_ENOEXEC: the child closed the channel without confirming its exec."""


_CLASSES = {
    "DROPIPC_EOF": EndOfStream, "DROPIPC_ETRUNC": Truncated, "DROPIPC_EPROTO": ProtocolError,
    "DROPIPC_ETOOBIG": TooBig, "DROPIPC_ETIMEDOUT": TimedOut, "DROPIPC_EINVAL": InvalidMessage,
    "DROPIPC_EUNSUPPORTED": Unsupported, "DROPIPC_ECHILD": ChildFailed,
    "DROPIPC_ENOTPTY": NotAPty, "DROPIPC_ECLOSED": ConnectionUnusable, "DROPIPC_ENOEXEC": NoExec,
}


def _error(name, msg, child_error=None):
    return _CLASSES.get(name, IpcError)(name, msg, child_error)


def stage_name(stage):
    return STAGE_NAMES.get(stage, "unknown")


def _sanitize(text):
    """Control characters become '?', one per UTF-8 byte as in the C library:
    C0 and DEL one, C1 (U+0080..U+009F, CSI among them) two."""
    def safe(c):
        if ord(c) < 0x20 or ord(c) == 0x7F:
            return "?"
        return "??" if 0x80 <= ord(c) <= 0x9F else c
    return "".join(safe(c) for c in text)


# ---- the protobuf wire format, for the envelope's body ----------------------

def _bad_utf8(desc, data, path):
    """Names the first string of a message that parse refused that is not
    UTF-8, as the C library does, or returns None."""
    seen = {}
    i = 0
    try:
        while i < len(data):
            key, i = varint(data, i)
            num, wt = key >> 3, key & 7
            if wt == 0:
                _, i = varint(data, i)
                continue
            if wt in (1, 5):
                i += 8 if wt == 1 else 4
                continue
            if wt != 2:
                return None
            n, i = varint(data, i)
            chunk, i = data[i:i + n], i + n
            f = desc.fields_by_number.get(num)
            if f is None:
                continue
            k = seen[num] = seen.get(num, -1) + 1
            name = "%s%s%s" % (path + "." if path else "", f.name,
                               "[%d]" % k if f.label == f.LABEL_REPEATED else "")
            if f.type == f.TYPE_STRING:
                try:
                    chunk.decode("utf-8")
                except UnicodeDecodeError as e:
                    return "%s: invalid UTF-8 at byte %d of the string" % (name, e.start)
            elif f.type == f.TYPE_MESSAGE:
                bad = _bad_utf8(f.message_type, chunk, name)
                if bad:
                    return bad
    except ValueError:
        return None
    return None


def varint(data, i):
    """The varint at data[i]: (value, index after it)."""
    x = shift = 0
    while i < len(data) and shift < 64:
        b = data[i]
        i += 1
        x |= (b & 0x7F) << shift
        if not b & 0x80:
            return x, i
        shift += 7
    raise ValueError("truncated varint", i)


def _fields(data):
    """Yields (number, wire type, bytes or None) of a message's fields."""
    i = 0
    while i < len(data):
        tag, i = varint(data, i)
        number, wt = tag >> 3, tag & 7
        if number == 0 or number > 0x1FFFFFFF:
            raise ValueError("invalid field number", i)
        if wt == 0:
            _, i = varint(data, i)
            yield number, wt, None
        elif wt in (1, 5):
            n = 8 if wt == 1 else 4
            if len(data) - i < n:
                raise ValueError("truncated fixed-size field", i)
            i += n
            yield number, wt, None
        elif wt == 2:
            n, i = varint(data, i)
            if n > len(data) - i:
                raise ValueError("length runs past the end", i)
            yield number, wt, data[i:i + n]
            i += n
        else:
            raise ValueError("unsupported wire type (groups)", i)


def envelope_body(payload):
    """The envelope's one body as (field name, bytes); raises IpcError."""
    known = pb.Envelope.DESCRIPTOR.fields_by_number
    bodies, unknown = [], None
    try:
        for number, wt, data in _fields(payload):
            if number not in known:
                unknown = unknown or number
                continue
            if wt != 2:
                raise _error("DROPIPC_EPROTO",
                               "envelope field %d has wire type %d, not 2" % (number, wt))
            bodies.append((known[number].name, data))
    except ValueError as e:
        why, at = e.args
        raise _error("DROPIPC_EPROTO",
                       "payload is not a protobuf Envelope: %s at byte %d" % (why, at))
    if len(bodies) > 1:
        raise _error("DROPIPC_EPROTO", "envelope has %d bodies, not 1" % len(bodies))
    if not bodies and unknown:
        raise _error("DROPIPC_EUNSUPPORTED",
                       "unsupported message: envelope field %d is not known to "
                       "protocol version %d" % (unknown, VERSION))
    if not bodies:
        raise _error("DROPIPC_EPROTO", "envelope has no body")
    return bodies[0]


def _leaves(msg, prefix):
    """Yields (path, field, value) of every scalar of msg, in dump order."""
    for f in sorted(msg.DESCRIPTOR.fields, key=lambda f: f.number):
        path = prefix + f.name
        value = getattr(msg, f.name)
        is_msg = f.type == _desc.FieldDescriptor.TYPE_MESSAGE
        if f.label == _desc.FieldDescriptor.LABEL_REPEATED:
            for i, e in enumerate(value):
                if is_msg:
                    yield from _leaves(e, "%s[%d]." % (path, i))
                else:
                    yield "%s[%d]" % (path, i), f, e
        elif is_msg:
            if msg.HasField(f.name):
                yield from _leaves(value, path + ".")
        else:
            yield path, f, value


# ---- validation of ChildArgs (PROTOCOL.md, "Validation of ChildArgs") --------

def _check_port(lst, i, name, port, zero_ok):
    if not ((port == 0 and zero_ok) or 1 <= port <= 65535):
        raise _error("DROPIPC_EINVAL",
                       "config.net.%s[%d].%s: %d is not in 1..65535" % (lst, i, name, port))


def _is_ip(s):
    try:
        ipaddress.ip_address(s)
    except ValueError:
        return False
    return "%" not in s


def validate(args):
    """Raises IpcError(DROPIPC_EINVAL) naming the first field that is wrong."""
    def fail(msg):
        raise _error("DROPIPC_EINVAL", msg)

    for path, f, v in _leaves(args, ""):
        if f.type == _desc.FieldDescriptor.TYPE_STRING and "\0" in v:
            fail("%s: NUL byte at byte %d of the string" % (path, v.encode().index(b"\0")))
    if not args.env_id:
        fail("env_id: empty")
    if not args.HasField("paths"):
        fail("paths: missing")
    if not args.HasField("config"):
        fail("config: missing")
    cfg = args.config
    for i, m in enumerate(cfg.mounts):
        if not m.source:
            fail("config.mounts[%d].source: empty" % i)
        if not m.target:
            fail("config.mounts[%d].target: empty" % i)
    for i, b in enumerate(cfg.blocked_paths):
        if not b:
            fail("config.blocked_paths[%d]: empty" % i)
    for i, v in enumerate(cfg.environ.exposed_vars):
        if not v:
            fail("config.environ.exposed_vars[%d]: empty" % i)
    for i, v in enumerate(cfg.environ.set_vars):
        if not v.name:
            fail("config.environ.set_vars[%d].name: empty" % i)
        if "=" in v.name:
            fail("config.environ.set_vars[%d].name: \"%s\" contains '='" % (i, v.name))
    if not cfg.HasField("net"):
        fail("config.net: missing")
    net = cfg.net
    if net.mode not in (1, 2, 3):
        fail("config.net.mode: %d is not a known mode" % net.mode)
    for lst in ("tcp_published_ports", "udp_published_ports"):
        for i, p in enumerate(getattr(net, lst)):
            _check_port(lst, i, "host_port", p.host_port, p.auto)
            _check_port(lst, i, "guest_port", p.guest_port, False)
            if p.auto and p.host_port:
                fail("config.net.%s[%d].host_port: %d set with auto" % (lst, i, p.host_port))
            if p.host_ip and not _is_ip(p.host_ip):
                fail("config.net.%s[%d].host_ip: \"%s\" is not an IP address"
                     % (lst, i, p.host_ip))
    for lst in ("tcp_host_ports", "udp_host_ports"):
        for i, p in enumerate(getattr(net, lst)):
            _check_port(lst, i, "host_port", p.host_port, False)
            _check_port(lst, i, "guest_port", p.guest_port, p.auto)
            if p.auto and p.guest_port:
                fail("config.net.%s[%d].guest_port: %d set with auto" % (lst, i, p.guest_port))


# ---- the connection ---------------------------------------------------------

def _close_fds(fds):
    for fd in fds:
        os.close(fd)
    fds.clear()


class _Conn:
    """Frames and fds over a SOCK_STREAM Unix socket (PROTOCOL.md, Frames)."""

    def __init__(self, sock):
        sock.set_inheritable(False)
        self.sock = sock
        self.timeout_ms = -1
        self.max_payload = DEFAULT_MAX_PAYLOAD
        self.broken = None
        self.op = ""

    def close(self):
        self.sock.close()

    def fileno(self):
        return self.sock.fileno()

    def set_timeout(self, ms):
        if ms < -1:
            raise _error("EINVAL", "timeout %d" % ms)
        self.timeout_ms = ms

    def set_max_payload(self, n):
        if not 1 <= n <= MAX_PAYLOAD_LIMIT:
            raise _error("EINVAL", "max payload %d" % n)
        self.max_payload = n

    def begin(self, op):
        self.op = op
        if self.broken:
            self.fail("DROPIPC_ECLOSED", "connection unusable after an earlier %s" % self.broken)

    def fail(self, name, msg, broken=False, child_error=None):
        if broken:
            self.broken = name
        raise _error(name, "%s: %s" % (self.op, msg), child_error)

    def _deadline(self):
        return None if self.timeout_ms < 0 else time.monotonic() + self.timeout_ms / 1000

    def _arm(self, deadline, at):
        if deadline is None:
            self.sock.settimeout(None)
            return
        left = deadline - time.monotonic()
        if left <= 0:
            self._timed_out(at)
        self.sock.settimeout(left)

    def _timed_out(self, at):
        if at == 0:
            self.fail("DROPIPC_ETIMEDOUT", "waiting for a frame: timed out")
        self.fail("DROPIPC_ETIMEDOUT", "timed out after %d bytes of the frame" % at, True)

    def _io_fail(self, e, pos, first, later):
        """A failed system call at byte pos of a frame: message first (with
        the errno's text for %s) before the frame began, later within it."""
        name = errno.errorcode.get(e.errno, "UNKNOWN")
        if pos == 0:
            self.fail(name, first % os.strerror(e.errno))
        self.fail(name, later % os.strerror(e.errno), True)

    def send_frame(self, payload, fds=()):
        if len(payload) > self.max_payload:
            self.fail("DROPIPC_ETOOBIG", "payload of %d bytes exceeds the limit of %d bytes"
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
        except OSError as e:
            self._io_fail(e, sent, "send: %s", "send: %%s after %d of %d bytes" % (sent, len(data)))

    def _recv_exact(self, n, at, fds, deadline):
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
            except OSError as e:
                self._io_fail(e, pos, "waiting for a frame: %s",
                              "%%s after %d bytes of the frame" % pos)
            fds.extend(got)
            if flags & socket.MSG_CTRUNC:
                self.fail("DROPIPC_EPROTO", "control data truncated after %d fds: the peer sent "
                          "more than %d, or this process is out of fds (RLIMIT_NOFILE)"
                          % (len(got), MAX_FDS), True)
            if got and pos > 0:
                self.fail("DROPIPC_EPROTO", "%d fds arrived at byte %d of the frame, not with "
                          "its first byte" % (len(got), pos), True)
            if not data:
                if pos == 0:
                    self.fail("DROPIPC_EOF", "peer closed the connection")
                self.fail("DROPIPC_ETRUNC",
                          "peer closed the connection after %d bytes of the frame" % pos, True)
            buf += data
        return bytes(buf)

    def recv_frame(self):
        """One whole frame as (payload, fds); on failure no fd is left open."""
        deadline = self._deadline()
        fds = []
        try:
            hdr = self._recv_exact(HEADER.size, 0, fds, deadline)
            magic, version, nfds, length, reserved = HEADER.unpack(hdr)
            if magic != MAGIC:
                self.fail("DROPIPC_EPROTO", "bad magic %s (expected \"DIPC\")"
                          % " ".join("%02x" % b for b in magic), True)
            if version != VERSION:
                self.fail("DROPIPC_EPROTO", "peer speaks protocol version %d, this end speaks "
                          "version %d" % (version, VERSION), True)
            if reserved:
                self.fail("DROPIPC_EPROTO", "reserved header field is 0x%x, not 0" % reserved,
                          True)
            if nfds > MAX_FDS:
                self.fail("DROPIPC_EPROTO", "header announces %d fds, the maximum is %d"
                          % (nfds, MAX_FDS), True)
            if length > self.max_payload:
                self.fail("DROPIPC_ETOOBIG", "payload of %d bytes exceeds the limit of %d bytes"
                          % (length, self.max_payload), True)
            if nfds != len(fds):
                self.fail("DROPIPC_EPROTO", "header announces %d fds, %d arrived"
                          % (nfds, len(fds)), True)
            payload = self._recv_exact(length, HEADER.size, fds, deadline)
        except BaseException:
            _close_fds(fds)
            raise
        return payload, fds

    def send_envelope(self, env, fds=()):
        self.send_frame(env.SerializeToString(), fds)

    def recv_message(self, want):
        """Receives a frame whose body must be `want`; returns (message, fds).

        An `error` body where something else is wanted fails with
        DROPIPC_ECHILD and the ChildError attached to the exception."""
        payload, fds = self.recv_frame()
        try:
            try:
                name, data = envelope_body(payload)
            except IpcError as e:
                self.fail(e.name, e.msg)
            if name == "error" and want != "error":
                self.child_failed(self._unpack(pb.ChildError, data))
            if name != want:
                self.fail("DROPIPC_EPROTO", "expected the %s message, got %s" % (want, name))
            cls = pb.Envelope.DESCRIPTOR.fields_by_name[want].message_type._concrete_class
            return self._unpack(cls, data), fds
        except BaseException:
            _close_fds(fds)
            raise

    def child_failed(self, err):
        self.fail("DROPIPC_ECHILD", "child setup failed at %s: %s"
                  % (stage_name(err.stage),
                     _sanitize(err.message.encode()[:MAX_ERROR_TEXT].decode("utf-8", "ignore"))),
                  child_error=err)

    def _unpack(self, cls, data):
        msg = cls()
        try:
            msg.ParseFromString(data)
        except DecodeError:
            bad = _bad_utf8(cls.DESCRIPTOR, data, "")
            if bad:
                self.fail("DROPIPC_EINVAL", bad)
            self.fail("DROPIPC_EPROTO", "%s does not unpack" % cls.DESCRIPTOR.name)
        return msg


def _claim(conn, fds, idx, what):
    if idx >= len(fds):
        conn.fail("DROPIPC_EPROTO", "%s: fd index %d out of range (the frame has %d fds)"
                  % (what, idx, len(fds)))
    if fds[idx] < 0:
        conn.fail("DROPIPC_EPROTO", "%s: fd index %d claimed twice" % (what, idx))
    fd, fds[idx] = fds[idx], -1
    return fd


def _finish(conn, fds):
    """Closes the fds no field claimed; an unclaimed fd is a protocol error."""
    left = [i for i, fd in enumerate(fds) if fd >= 0]
    _close_fds([fd for fd in fds if fd >= 0])
    fds.clear()
    if left:
        conn.fail("DROPIPC_EPROTO", "fd index %d claimed by no field" % left[0])


def _check_pty_master(conn, fd):
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
    conn.fail("DROPIPC_ENOTPTY", "the fd sent as pty master is %s, not a pty master" % kind)


# ---- the two ends -------------------------------------------------------------

def _adopt(sock_or_fd):
    if isinstance(sock_or_fd, socket.socket):
        return sock_or_fd
    return socket.socket(fileno=sock_or_fd)


class _End:
    def __init__(self, sock_or_fd):
        self.conn = _Conn(_adopt(sock_or_fd))

    def close(self):
        self.conn.close()

    def fileno(self):
        return self.conn.fileno()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def set_timeout(self, ms):
        """Milliseconds for each whole send or receive; -1 (the default):
        forever."""
        self.conn.set_timeout(ms)

    def set_max_payload(self, n):
        """The largest payload the end sends or accepts (default 1 MiB)."""
        self.conn.set_max_payload(n)


class ParentEnd(_End):
    """The parent's end, in the launcher: a connected Unix stream socket
    (socket object or fd), made close-on-exec."""

    def __init__(self, sock_or_fd):
        super().__init__(sock_or_fd)
        self.child_error = None

    def send_child_args(self, args):
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

    def recv_pty(self):
        """The child's pty master, an fd the caller owns (close-on-exec).
        Raises EndOfStream if the child closed first, ChildFailed if it
        reported a setup failure, NotAPty if the fd is not a pty master."""
        c = self.conn
        self.child_error = None
        c.begin("recv pty")
        try:
            pty, fds = c.recv_message("pty")
        except IpcError as e:
            self.child_error = e.child_error
            raise
        fd = -1
        try:
            if len(fds) != 1:
                c.fail("DROPIPC_EPROTO", "expected 1 fd, got %d" % len(fds))
            fd = _claim(c, fds, pty.master_fd, "master_fd")
            _finish(c, fds)
            _check_pty_master(c, fd)
        except BaseException:
            _close_fds([x for x in fds if x >= 0])
            if fd >= 0:
                os.close(fd)
            raise
        return fd

    def wait_exec(self):
        """Waits for the outcome of the child's exec (after send_child_args,
        and recv_pty if the child sends a pty). Returns when the child
        confirmed its exec (ExecConfirm) and then closed the channel: the exec
        succeeded. Raises NoExec when the channel closed without the
        confirmation (the child died first, or does not confirm), ChildFailed
        when the child reported a failure, ProtocolError for another message."""
        c = self.conn
        self.child_error = None
        c.begin("wait exec")
        try:
            _, fds = c.recv_message("exec")
            _finish(c, fds)
        except EndOfStream:
            c.fail("DROPIPC_ENOEXEC", "the child closed the channel without confirming its exec")
        except IpcError as e:
            self.child_error = e.child_error
            raise
        # Confirmed: now end-of-stream, or the exec's failure.
        try:
            payload, fds = c.recv_frame()
        except EndOfStream:
            return
        _close_fds(fds)
        try:
            name, data = envelope_body(payload)
        except IpcError as e:
            c.fail(e.name, e.msg)
        if name != "error":
            c.fail("DROPIPC_EPROTO",
                   "expected end of stream after the exec confirmation, got %s" % name)
        self.child_error = c._unpack(pb.ChildError, data)
        c.child_failed(self.child_error)


# The failures of a receive of ChildArgs that a child reports (PROTOCOL.md).
_REPORTABLE = {"DROPIPC_EPROTO", "DROPIPC_ETOOBIG", "DROPIPC_EINVAL", "DROPIPC_EUNSUPPORTED",
               "ENOMEM"}


class ChildEnd(_End):
    """The child's end, in the sandbox: fd 3 by default, made close-on-exec
    so that the parent sees end-of-stream exactly when the exec succeeds.
    In the parent (from new_parent_child_socket), pass its fileno() to the
    child as fd 3, then close it."""

    def __init__(self, sock_or_fd=CHILD_FD):
        super().__init__(sock_or_fd)
        self.confirm = False

    @property
    def socket(self):
        return self.conn.sock

    def recv_child_args(self):
        """The parent's ChildArgs, validated. Raises EndOfStream if the
        parent closed first. Arguments it cannot use it reports to the
        parent itself, as docs/PROTOCOL.md says (a ChildError at STAGE_ARGS),
        also when the frame broke the stream."""
        try:
            return self._recv_child_args()
        except IpcError as e:
            self._report_args_failure(e)
            raise

    def _report_args_failure(self, e):
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

    def _recv_child_args(self):
        c = self.conn
        c.begin("recv args")
        try:
            args, fds = c.recv_message("child_args")
        except ChildFailed:
            c.fail("DROPIPC_EPROTO", "expected the child_args message, got error")
        _finish(c, fds)
        try:
            validate(args)
        except IpcError as e:
            c.fail(e.name, e.msg)
        self.confirm = args.confirm_exec
        return args

    def send_pty(self, master):
        """Hands the pty master (an fd or a file) to the parent; it stays the
        caller's."""
        fd = master if isinstance(master, int) else master.fileno()
        self.conn.begin("send pty")
        self.conn.send_envelope(pb.Envelope(pty=pb.PtyHandoff(master_fd=0)), [fd])

    def confirm_exec(self):
        """Right before exec: tells the parent that the exec is next, when it
        asked for it (an older parent did not: then nothing is sent). If the
        exec fails, report it with send_error(STAGE_EXEC, ...)."""
        self.conn.begin("confirm exec")
        if self.confirm:
            self.conn.send_envelope(pb.Envelope(exec=pb.ExecConfirm()))

    def send_error(self, stage, err, message):
        """Reports a setup failure; the text is cut at 4096 bytes."""
        self.conn.begin("send error")
        text = message.encode()[:MAX_ERROR_TEXT].decode("utf-8", "ignore")
        e = pb.ChildError(stage=stage, errno_value=err, message=text)
        self.conn.send_envelope(pb.Envelope(error=e))


def new_parent_child_socket():
    """(ParentEnd, ChildEnd) of a new channel, both close-on-exec."""
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    return ParentEnd(a), ChildEnd(b)
