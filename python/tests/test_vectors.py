# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The conformance vectors (test/vectors/*.vec, format in its README.md):
each one's frames are written on a real socketpair, with real fds, to the
Python end that receives them, which must reach the vector's outcome and
leave no fd that arrived open after a failure.

    python3 test_vectors.py        (DROPIPC_VECTORS: another directory)

Without any vector file the test is skipped, saying so (exit 77)."""
import os
import socket
import stat
import sys
import tempfile
import threading
import unittest
from typing import Dict, List, NamedTuple, Optional, Tuple

import dropipc
from dropipc import pb

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.environ.get("DROPIPC_VECTORS") or os.path.join(HERE, "..", "..", "test", "vectors")
sys.path.insert(0, os.path.join(HERE, "..", "..", "test", "peers", "python"))

CLASSES = {
    "eof": dropipc.EndOfStream, "truncated": dropipc.Truncated,
    "protocol": dropipc.ProtocolError, "too_big": dropipc.TooBig,
    "invalid": dropipc.InvalidMessage, "unsupported": dropipc.Unsupported,
    "child_error": dropipc.ChildFailed, "not_pty": dropipc.NotAPty, "no_exec": dropipc.NoExec,
}
CALLS = {"args": ("child", "child_args", pb.ChildArgs), "pty": ("parent", "pty", pb.PtyHandoff),
         "files": (None, "files", pb.Files), "custom": (None, "custom", pb.Custom),
         "wait_exec": ("parent", None, None)}
FD_TYPES = ("pipe", "pty_master", "regular", "socket")


class Vector(NamedTuple):
    where: str
    name: str
    receiver: str
    call: str
    fds: List[str]
    frames: List[bytes]
    expect: str           # "ok" or an error class
    dump: List[bytes]
    report: Optional[Tuple[int, int, bytes]]


def parse(path: str) -> List[Vector]:
    """The vectors of one file; a line it does not know fails the test."""
    out: List[Vector] = []
    cur: Optional[Dict[str, object]] = None
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    for n, raw in enumerate(lines, 1):
        where = "%s:%d" % (os.path.basename(path), n)
        line = raw.strip()
        if not line or line.startswith(b"#"):
            continue
        key, _, rest = line.partition(b" ")
        k, v = key.decode(), rest.strip()
        if k == "vector":
            if cur is not None:
                raise ValueError("%s: vector inside vector %s" % (where, cur["name"]))
            cur = {"where": where, "name": v.decode(), "receiver": "", "call": "", "fds": [],
                   "frames": [], "expect": "", "dump": [], "report": None}
            continue
        if cur is None:
            raise ValueError("%s: %r outside a vector" % (where, k))
        if k == "receiver" and v in (b"child", b"parent"):
            cur["receiver"] = v.decode()
        elif k == "call" and v.decode() in CALLS:
            cur["call"] = v.decode()
        elif k == "fd" and v.decode() in FD_TYPES:
            cur["fds"].append(v.decode())  # type: ignore[attr-defined]
        elif k == "frame":
            cur["frames"].append(bytes.fromhex(v.decode()))  # type: ignore[attr-defined]
        elif k == "expect" and (v == b"ok" or v.startswith(b"error ")):
            cls = v.decode().split()[-1]
            if cls != "ok" and cls not in CLASSES:
                raise ValueError("%s: unknown error class %s" % (where, cls))
            cur["expect"] = cls
        elif k == "dump":
            cur["dump"].append(v)  # type: ignore[attr-defined]
        elif k == "report":
            stage, err, *hx = v.decode().split()
            cur["report"] = (int(stage), int(err), bytes.fromhex("".join(hx)))
        elif k == "end":
            if not (cur["receiver"] and cur["call"] and cur["expect"]):
                raise ValueError("%s: vector %s lacks receiver, call or expect"
                                 % (where, cur["name"]))
            out.append(Vector(**cur))  # type: ignore[arg-type]
            cur = None
        else:
            raise ValueError("%s: unknown line %r" % (where, raw))
    if cur is not None:
        raise ValueError("%s: vector %s has no end" % (path, cur["name"]))
    return out


def vector_files() -> List[str]:
    if not os.path.isdir(VECTORS):
        return []
    return sorted(os.path.join(VECTORS, f) for f in os.listdir(VECTORS) if f.endswith(".vec"))


def make_fds(types: List[str], keep: List[int]) -> List[int]:
    """The fds to send, of each type; keep gets what the sender holds on to
    (closed after the test)."""
    out = []
    for t in types:
        if t == "pipe":
            r, w = os.pipe()
            out.append(r)
            keep.append(w)
        elif t == "pty_master":
            master, slave = os.openpty()
            out.append(master)
            keep.append(slave)
        elif t == "regular":
            fd, path = tempfile.mkstemp()
            out.append(os.open(path, os.O_RDONLY | os.O_CLOEXEC))
            os.unlink(path)
            os.close(fd)
        else:
            a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            out.append(a.detach())
            keep.append(b.detach())
    return out


def open_fds() -> set:
    return set(os.listdir("/proc/self/fd"))


def dump_body(frame: bytes, want: str) -> bytes:
    """The dump of the frame's body (the message the receive accepted)."""
    import peerutil
    name, data = dropipc.wire.envelope_body(frame[16:])
    cls = {"child_args": pb.ChildArgs, "pty": pb.PtyHandoff, "files": pb.Files,
           "custom": pb.Custom}[want]
    msg = cls()
    msg.ParseFromString(data)
    return peerutil.dump(msg)


def kind(fd: int) -> str:
    mode = os.fstat(fd).st_mode
    if stat.S_ISFIFO(mode):
        return "pipe"
    if stat.S_ISREG(mode):
        return "regular"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "pty_master" if stat.S_ISCHR(mode) else "other"


class Vectors(unittest.TestCase):
    def test_every_vector(self):
        files = vector_files()
        if not files:
            self.skipTest("no test/vectors/*.vec in %s" % VECTORS)
        count = 0
        for path in files:
            for v in parse(path):
                with self.subTest(vector=v.name, at=v.where):
                    self.run_vector(v)
                count += 1
        print("\n%d vectors of %d files" % (count, len(files)), file=sys.stderr)

    def run_vector(self, v: Vector) -> None:
        parent, child = dropipc.new_parent_child_socket()
        end = child if v.receiver == "child" else parent
        other = parent if end is child else child
        sender = other.conn.sock
        end.settimeout(10)
        keep: List[int] = []
        before = open_fds()
        fds = make_fds(v.fds, keep)

        def send() -> None:
            try:
                for i, f in enumerate(v.frames):
                    if i == 0 and fds:
                        n = socket.send_fds(sender, [f], fds)
                        sender.sendall(f[n:])
                    else:
                        sender.sendall(f)
                sender.shutdown(socket.SHUT_WR)
            except OSError:
                pass  # the receiver gave up first: its outcome says why
            finally:
                for fd in fds:
                    os.close(fd)

        t = threading.Thread(target=send)
        t.start()
        result: object = None
        err: Optional[BaseException] = None
        try:
            if v.call == "args":
                result = child.recv_child_args()
            elif v.call == "pty":
                result = parent.recv_pty()
            elif v.call == "files":
                result = end.recv_files()
            elif v.call == "custom":
                result = end.recv_custom()
            else:
                result = parent.wait_exec()
        except dropipc.IpcError as e:
            err = e
        t.join(30)
        try:
            if v.expect == "ok":
                self.assertIsNone(err, "%s: %s" % (v.name, err))
                self.check_ok(v, result)
            else:
                self.assertIsInstance(err, CLASSES[v.expect], "%s: got %r" % (v.name, err))
                if v.report is not None:
                    assert isinstance(err, dropipc.IpcError)
                    r = err.child_error
                    self.assertIsNotNone(r, v.name)
                    assert r is not None
                    text = dropipc.sanitize(dropipc.text.utf8_cut(r.message.encode(), 4096))
                    self.assertEqual((r.stage, r.errno_value, text), v.report, v.name)
            # Every fd that arrived is closed (or was handed out, and closed
            # by check_ok above).
            self.assertEqual(open_fds() - before - {str(fd) for fd in keep}
                             - {str(parent.fileno()), str(child.fileno())}, set(),
                             "%s: fds left open" % v.name)
        finally:
            for fd in keep:
                os.close(fd)
            parent.close()
            child.close()

    def check_ok(self, v: Vector, result: object) -> None:
        if v.call == "args":
            import peerutil
            assert isinstance(result, pb.ChildArgs)
            got = peerutil.dump(result)
        elif v.call == "pty":
            assert isinstance(result, int)
            self.assertEqual(kind(result), "pty_master", v.name)
            os.close(result)
            got = dump_body(v.frames[0], "pty")
        elif v.call in ("files", "custom"):
            files = result.files if isinstance(result, dropipc.Custom) else result
            assert isinstance(files, list)
            self.assertEqual([kind(f.fd) for f in files],
                             [self.sent_kind(v, i, files) for i in range(len(files))], v.name)
            for f in files:
                os.close(f.fd)
            got = dump_body(v.frames[0], "custom" if v.call == "custom" else "files")
        else:
            got = b""
        if v.dump or v.call == "args":
            self.assertEqual(got.splitlines(), v.dump, v.name)

    @staticmethod
    def sent_kind(v: Vector, i: int, files: list) -> str:
        """The type of the fd the i-th entry names, as the vector sent it."""
        frame = v.frames[0]
        _, data = dropipc.wire.envelope_body(frame[16:])
        msg = pb.Custom() if v.call == "custom" else pb.Files()
        msg.ParseFromString(data)
        return v.fds[msg.files[i].fd]


if __name__ == "__main__":
    # As a ctest: no vector to read is a SKIP (77), never a silent pass.
    if not vector_files():
        print("SKIP: no test/vectors/*.vec in %s" % VECTORS)
        sys.exit(77)
    unittest.main()
