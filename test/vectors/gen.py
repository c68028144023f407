#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Writes the conformance vectors, test/vectors/*.vec (format: README.md),
from the schema with the protobuf Python package: the messages are built
as protobuf objects, serialized, and where a vector needs bytes no
conforming sender writes (a wrong wire type, a NUL in a path) edited at
the byte level. The expected outcomes are this file's statement of the
protocol (docs/PROTOCOL.md); the C runner (runner.c) and the Go and Python
tests check their receivers against them.

    gen.py OUT_DIR [--protoc-c PROTOC_C]

The .vec files are committed; a ctest test runs this again and checks
that it writes them byte for byte.
"""
import argparse
import os
import struct
import subprocess
import sys
import tempfile

from google.protobuf import descriptor_pb2, message_factory
from google.protobuf import descriptor as _desc

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO_DIR = os.path.join(HERE, "..", "..", "proto")
F = _desc.FieldDescriptor


def load(protoc_c):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "d.pb")
        subprocess.check_call([protoc_c, "--proto_path=" + PROTO_DIR,
                               "--descriptor_set_out=" + out, "dropipc/v1/dropipc.proto"])
        fds = descriptor_pb2.FileDescriptorSet()
        with open(out, "rb") as f:
            fds.ParseFromString(f.read())
    classes = message_factory.GetMessages(fds.file)
    return type("pb", (), {k.split(".")[-1]: v for k, v in classes.items()})


# ---- wire helpers ------------------------------------------------------------

def varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def tag(number, wt):
    return varint(number << 3 | wt)


def ld(number, data):
    return tag(number, 2) + varint(len(data)) + data


def header(length, nfds=0, magic=b"DIPC", version=1, reserved=0):
    return magic + struct.pack("<HHII", version, nfds, length, reserved)


def frame(payload, **kw):
    return header(len(payload), **kw) + payload


# Envelope body numbers.
ARGS, PTY, ERROR, FILES, EXEC, CUSTOM = 1, 2, 3, 4, 5, 6


def env(body, data):
    return ld(body, data)


# ---- the dump format (cmd/demo/dump.h) ---------------------------------------

def escape(b):
    out = bytearray()
    for c in b:
        if c == 0x5C:
            out += b"\\\\"
        elif c == 0x0A:
            out += b"\\n"
        elif c < 0x20 or c == 0x7F:
            out += b"\\x%02x" % c
        else:
            out.append(c)
    return bytes(out)


def scalar(f, v):
    if f.type == F.TYPE_BOOL:
        return b"true" if v else b"false"
    if f.type == F.TYPE_STRING:
        return escape(v.encode())
    if f.type == F.TYPE_BYTES:
        return escape(v)
    return str(int(v)).encode()


def leaves(msg, prefix):
    for f in sorted(msg.DESCRIPTOR.fields, key=lambda f: f.number):
        if f.full_name == "dropipc.v1.ChildArgs.confirm_exec":
            continue
        path = prefix + f.name
        value = getattr(msg, f.name)
        is_msg = f.type == F.TYPE_MESSAGE
        if f.label == F.LABEL_REPEATED:
            for i, e in enumerate(value):
                if is_msg:
                    yield from leaves(e, "%s[%d]." % (path, i))
                else:
                    yield b"%s[%d]=" % (path.encode(), i) + scalar(f, e)
        elif is_msg:
            # An all-0 TermSize means what an absent one means: written so.
            zero = f.message_type.name == "TermSize" and not any(
                getattr(value, g.name) for g in value.DESCRIPTOR.fields)
            if msg.HasField(f.name) and not zero:
                yield from leaves(value, path + ".")
        else:
            yield path.encode() + b"=" + scalar(f, value)


def dump(msg):
    return list(leaves(msg, ""))


# ---- the sanitizer (lib/text.c, docs/PROTOCOL.md) ----------------------------

def sanitize(b):
    out, i = bytearray(), 0
    while i < len(b):
        n = utf8_len(b, i)
        cp = None
        if n:
            try:
                cp = ord(b[i:i + n].decode("utf-8"))
            except UnicodeDecodeError:
                n, cp = 0, None
        if not n or (cp < 0x20 and cp not in (0x0A, 0x09)) or 0x7F <= cp <= 0x9F:
            out += b"?"
            i += n or 1
            continue
        out += b[i:i + n]
        i += n
    return bytes(out)


def utf8_len(b, i):
    c = b[i]
    if c < 0x80:
        return 1
    if 0xC2 <= c <= 0xDF:
        n = 2
    elif 0xE0 <= c <= 0xEF:
        n = 3
    elif 0xF0 <= c <= 0xF4:
        n = 4
    else:
        return 0
    return n if i + n <= len(b) else 0


# ---- vectors -----------------------------------------------------------------

class Vec:
    def __init__(self, name, receiver, call, comment=None):
        self.name, self.receiver, self.call = name, receiver, call
        self.comment = comment
        self.fds, self.frames, self.expect, self.dumps, self.report = [], [], None, [], None

    def text(self):
        out = []
        if self.comment:
            out += [b"# " + line.encode() for line in self.comment.split("\n")]
        out += [b"vector " + self.name.encode(), b"receiver " + self.receiver.encode(),
                b"call " + self.call.encode()]
        out += [b"fd " + t.encode() for t in self.fds]
        for fr in self.frames:
            out.append(b"frame " + fr.hex().encode())
        out.append(b"expect " + self.expect.encode())
        out += [b"dump " + d for d in self.dumps]
        if self.report:
            stage, err, text = self.report
            out.append(b"report %d %d %s" % (stage, err, text.hex().encode()))
        out.append(b"end")
        return b"\n".join(out) + b"\n"


def ok(v, dumps=()):
    v.expect = "ok"
    v.dumps = list(dumps)
    return v


def err(v, cls):
    v.expect = "error " + cls
    return v


class Gen:
    def __init__(self, pb):
        self.pb = pb
        self.files = {}

    def add(self, file, v):
        self.files.setdefault(file, []).append(v)

    def example_args(self, command=(b"true",)):
        pb = self.pb
        a = pb.ChildArgs(env_id="test-env", exec_args=list(command))
        home = b"/home/alice/.local/share/drop"
        p = a.paths
        for i, name in enumerate(["cwd", "drop_home", "env", "fs_root", "host_home", "home",
                                  "etc", "var", "tmp", "run", "empty_dir", "empty_file"]):
            setattr(p, name, home + b"/" + name.encode())
        c = a.config
        c.extends = "base"
        c.mounts.add(source=b"~/docs", target=b"~/docs", rw=False, overlay=True)
        c.mounts.add(source=b"~/src", target=b"~/src", rw=True)
        c.blocked_paths.extend([b"/root", b"~/.ssh"])
        c.environ.exposed_vars.extend([b"PATH", b"LC_*"])
        c.environ.set_vars.add(name=b"FOO", value=b"bar")
        n = c.net
        n.mode = pb.Net.MODE_ISOLATED
        n.tcp_published_ports.add(host_ip="127.0.0.1", host_port=8080, guest_port=3000)
        n.udp_host_ports.add(host_port=53, guest_port=5353)
        a.confirm_exec = True
        return a

    def args_vec(self, file, name, a, comment=None, expect=None, raw=None):
        v = Vec(name, "child", "args", comment)
        data = raw if raw is not None else a.SerializeToString()
        v.frames.append(frame(env(ARGS, data)))
        if expect:
            err(v, expect)
        else:
            ok(v, dump(a))
        self.add(file, v)

    # -- every body ------------------------------------------------------------

    def bodies(self):
        pb = self.pb
        self.args_vec("bodies", "child_args", self.example_args(),
                      "Every body of the Envelope, as its receiver expects it.")
        v = Vec("pty", "parent", "pty")
        v.fds = ["pty_master"]
        v.frames.append(frame(env(PTY, pb.PtyHandoff(master_fd=0).SerializeToString()), nfds=1))
        self.add("bodies", ok(v))
        v = Vec("error_report", "parent", "pty")
        v.frames.append(frame(env(ERROR, pb.ChildError(
            stage=pb.ChildError.STAGE_EXEC, errno_value=2,
            message="exec ls: No such file or directory").SerializeToString())))
        v.report = (4, 2, b"exec ls: No such file or directory")
        self.add("bodies", err(v, "child_error"))
        v = Vec("files", "child", "files")
        v.fds = ["pipe", "socket"]
        files = pb.Files()
        files.files.add(name="sock", fd=1)
        files.files.add(name="in", fd=0)
        v.frames.append(frame(env(FILES, files.SerializeToString()), nfds=2))
        self.add("bodies", ok(v, [b"files[0].name=sock", b"files[0].fd=1",
                                   b"files[1].name=in", b"files[1].fd=0"]))
        v = Vec("exec_confirm", "parent", "wait_exec",
                "ExecConfirm, then end of stream: the exec succeeded.")
        v.frames.append(frame(env(EXEC, b"")))
        self.add("bodies", ok(v))
        v = Vec("no_exec_confirm", "parent", "wait_exec",
                "End of stream without ExecConfirm: the child died before its exec.")
        self.add("bodies", err(v, "no_exec"))
        v = Vec("custom_with_fds", "parent", "custom")
        v.fds = ["pipe", "regular"]
        c = pb.Custom(type="org.example.launcher.Limits/1", data=b"\x08\x80\x08\x00\xff")
        c.files.add(name="log", fd=1)
        c.files.add(name="ctl", fd=0)
        v.frames.append(frame(env(CUSTOM, c.SerializeToString()), nfds=2))
        self.add("bodies", ok(v, [b"type=org.example.launcher.Limits/1",
                                   b"data=" + escape(c.data),
                                   b"files[0].name=log", b"files[0].fd=1",
                                   b"files[1].name=ctl", b"files[1].fd=0"]))
        v = Vec("custom_no_fds", "child", "custom")
        c = pb.Custom(type="x", data=b"")
        v.frames.append(frame(env(CUSTOM, c.SerializeToString())))
        self.add("bodies", ok(v, [b"type=x", b"data="]))
        v = Vec("custom_fd_unnamed", "child", "custom",
                "Each fd of the frame is claimed by exactly one entry.")
        v.fds = ["pipe", "pipe"]
        c = pb.Custom(type="x")
        c.files.add(name="a", fd=0)
        v.frames.append(frame(env(CUSTOM, c.SerializeToString()), nfds=2))
        self.add("bodies", err(v, "protocol"))
        v = Vec("custom_bad_type", "child", "custom", "type: printable ASCII, 1..256 bytes.")
        v.frames.append(frame(env(CUSTOM, pb.Custom(type="a b").SerializeToString())))
        self.add("bodies", err(v, "invalid"))
        v = Vec("unknown_body", "child", "args",
                "Body 7 is reserved: a reader reports it unsupported, and closes its fds.")
        v.fds = ["pipe"]
        v.frames.append(frame(env(7, b""), nfds=1))
        self.add("bodies", err(v, "unsupported"))
        v = Vec("custom_where_args_expected", "child", "args",
                "A Custom body where the step expects ChildArgs: the wrong message.")
        v.frames.append(frame(env(CUSTOM, pb.Custom(type="x").SerializeToString())))
        self.add("bodies", err(v, "protocol"))

    # -- wire types at every depth ---------------------------------------------

    def wiretypes(self):
        """A group (wire types 3 and 4) and a known field of the wrong wire
        type, inside each message the receivers unpack."""
        pb = self.pb
        a = self.example_args()
        a.term_size.rows = 24
        a.term_size.cols = 80
        # (name, receiver, call, nfds, body, path, wrong): path is the
        # fields from the body's message to the target message, each with
        # the index of a repeated one; wrong is a field of the target with
        # a wire type it must not have.
        args = a.SerializeToString()
        cases = [
            ("ChildArgs", []), ("Paths", [2]), ("Config", [3]), ("Mount", [3, 2]),
            ("Environ", [3, 4]), ("SetVar", [3, 4, 2]), ("Net", [3, 5]),
            ("PublishedPort", [3, 5, 2]), ("HostPort", [3, 5, 5]), ("TermSize", [7]),
        ]
        wrong = {  # the target's field 1 with the wrong wire type
            "ChildArgs": tag(1, 0) + varint(1), "Paths": tag(1, 0) + varint(1),
            "Config": tag(1, 0) + varint(1), "Mount": tag(1, 0) + varint(1),
            "Environ": tag(1, 0) + varint(1), "SetVar": tag(1, 0) + varint(1),
            "Net": tag(1, 5) + b"\x01\x00\x00\x00", "PublishedPort": tag(1, 5) + b"\x01\0\0\0",
            "HostPort": tag(1, 1) + b"\x01" + b"\0" * 7, "TermSize": tag(1, 5) + b"\x18\0\0\0",
            "Custom": tag(1, 0) + varint(1), "Files": tag(1, 0) + varint(1),
            "File": tag(1, 0) + varint(1), "ChildError": tag(1, 5) + b"\x04\0\0\0",
            "PtyHandoff": tag(1, 5) + b"\0\0\0\0",
        }
        group = tag(20, 3) + tag(1, 0) + varint(1) + tag(20, 4)
        for target, path in cases:
            for kind, bad in (("group", group), ("wrong_wire_type", wrong[target])):
                data = inject(a, path, bad)
                v = Vec("%s_%s" % (target.lower(), kind), "child", "args",
                        "%s inside ChildArgs%s: refused at every depth." % (
                            kind.replace("_", " "), "" if not path else
                            " (" + target + ")"))
                v.frames.append(frame(env(ARGS, data)))
                self.add("wiretypes", err(v, "protocol"))
        c = pb.Custom(type="t", data=b"d")
        c.files.add(name="f", fd=0)
        others = [
            ("Custom", "child", "custom", CUSTOM, c, [], 1),
            ("Files", "child", "files", FILES, files_msg(pb), [], 1),
            ("File", "child", "files", FILES, files_msg(pb), [1], 1),
            ("ChildError", "parent", "pty", ERROR,
             pb.ChildError(stage=2, errno_value=1, message="m"), [], 0),
            ("PtyHandoff", "parent", "pty", PTY, pb.PtyHandoff(master_fd=0), [], 1),
        ]
        for target, recv, call, body, msg, path, nfds in others:
            for kind, bad in (("group", group), ("wrong_wire_type", wrong[target])):
                v = Vec("%s_%s" % (target.lower(), kind), recv, call)
                v.fds = ["pipe"] * nfds
                v.frames.append(frame(env(body, inject(msg, path, bad)), nfds=nfds))
                self.add("wiretypes", err(v, "protocol"))
        v = Vec("envelope_group", "child", "args", "A group in the Envelope itself.")
        v.frames.append(frame(group + env(ARGS, args)))
        self.add("wiretypes", err(v, "protocol"))
        v = Vec("envelope_body_varint", "child", "args", "A known body as a varint.")
        v.frames.append(frame(tag(ARGS, 0) + varint(1)))
        self.add("wiretypes", err(v, "protocol"))

    # -- OS strings as bytes, ports, pty ---------------------------------------

    def strings(self):
        pb = self.pb
        a = self.example_args([b"grep", b"\xff", b"f"])
        a.paths.cwd = b"/home/alice/caf\xe9"
        a.config.environ.set_vars.add(name=b"L1", value=b"\xe9t\xe9 \x80")
        a.config.blocked_paths.append(b"/\xfe\xff")
        self.args_vec("strings", "latin1_and_xff", a,
                      "OS strings are bytes: Latin-1 and \\xff pass unchanged.")
        self.args_vec("strings", "empty_exec_args", self.example_args([]),
                      "No command: the child runs the user's shell.")
        a = self.example_args()
        a.config.net.tcp_published_ports.add(auto=True)
        a.config.net.udp_host_ports.add(auto=True)
        self.args_vec("strings", "port_auto", a, "Drop's auto: every port, both ports 0.")
        for mode in (0, 1, 2):
            a = self.example_args()
            a.pty = mode
            if mode != 2:
                a.term_size.rows, a.term_size.cols = 50, 132
                a.term_size.x_pixels, a.term_size.y_pixels = 1000, 800
            self.args_vec("strings", "pty_mode_%d" % mode, a)
        a = self.example_args()
        a.term_size.rows = 0
        a.term_size.cols = 0
        self.args_vec("strings", "term_size_zero", a, "All 0 is dumped as absent.")
        invalid = []
        a = self.example_args()
        a.pty = 3
        invalid.append(("pty_mode_unknown", a.SerializeToString()))
        a = self.example_args()
        a.config.net.tcp_published_ports.add(auto=True, guest_port=80)
        invalid.append(("port_auto_with_port", a.SerializeToString()))
        a = self.example_args()
        a.config.net.tcp_published_ports.add(auto=True, host_ip="::1")
        invalid.append(("port_auto_with_host_ip", a.SerializeToString()))
        a = self.example_args()
        a.config.net.tcp_published_ports.add(host_port=0, guest_port=80)
        invalid.append(("port_zero", a.SerializeToString()))
        a = self.example_args()
        a.paths.cwd = b"/tmp/MARK"
        invalid.append(("nul_in_cwd", a.SerializeToString().replace(b"/tmp/MARK", b"/tm\0MARK")))
        a = self.example_args([b"ls", b"-MARK"])
        invalid.append(("nul_in_exec_arg", a.SerializeToString().replace(b"-MARK", b"-\0ARK")))
        a = self.example_args()
        a.config.environ.set_vars[0].value = b"vMARK"
        invalid.append(("nul_in_env_value",
                        a.SerializeToString().replace(b"vMARK", b"v\0ARK")))
        a = self.example_args()
        a.env_id = "UTF8MARK"
        invalid.append(("env_id_not_utf8",
                        a.SerializeToString().replace(b"UTF8MARK", b"caf\xe9MARK")))
        a = self.example_args()
        a.config.net.tcp_published_ports[0].host_ip = "MARK"
        invalid.append(("host_ip_not_utf8",
                        a.SerializeToString().replace(b"MARK", b"\xff\xfe\xfd\xfc")))
        for name, data in invalid:
            self.args_vec("strings", name, None, raw=data, expect="invalid")

    # -- frames ------------------------------------------------------------------

    def frames(self):
        args = env(ARGS, self.example_args().SerializeToString())
        cases = [
            ("bad_magic", [header(0, magic=b"XIPC")], [], "protocol"),
            ("bad_version", [frame(args, version=2)], [], "protocol"),
            ("bad_reserved", [header(0, reserved=1)], [], "protocol"),
            ("nfds_17", [header(0, nfds=17)], [], "protocol"),
            ("too_big", [header(1048577)], [], "too_big"),
            ("fd_missing", [frame(args, nfds=1)], [], "protocol"),
            ("fd_extra", [frame(args, nfds=1)], ["pipe", "pipe"], "protocol"),
            ("fd_unannounced", [frame(args)], ["pipe"], "protocol"),
            ("fd_unclaimed", [frame(args, nfds=1)], ["pipe"], "protocol"),
            ("truncated_header", [header(0)[:10]], [], "truncated"),
            ("truncated_payload", [header(len(args)) + args[:5]], [], "truncated"),
            ("eof", [], [], "eof"),
            ("not_protobuf", [frame(b"\xff\xff\xff")], [], "protocol"),
            ("no_body", [frame(b"")], [], "protocol"),
            ("two_bodies", [frame(args + env(PTY, b""))], [], "protocol"),
        ]
        for name, frs, fds, cls in cases:
            v = Vec(name, "child", "args")
            v.fds = fds
            v.frames = frs
            self.add("frames", err(v, cls))
        v = Vec("pty_not_a_pty", "parent", "pty", "A pipe sent as the pty master.")
        v.fds = ["pipe"]
        v.frames.append(frame(env(PTY, self.pb.PtyHandoff(master_fd=0).SerializeToString()),
                              nfds=1))
        self.add("frames", err(v, "not_pty"))
        v = Vec("files_count", "child", "files", "Two files named for one fd.")
        v.fds = ["pipe"]
        v.frames.append(frame(env(FILES, files_msg(self.pb, 2).SerializeToString()), nfds=1))
        self.add("frames", err(v, "protocol"))

    # -- the sanitizer --------------------------------------------------------------

    def reports(self):
        pb = self.pb
        texts = [
            ("c0", b"\x1b[2J\x1b]0;pwned\x07 gone"),
            ("c1", "\u009b31m \u0085 red".encode()),
            ("newline_tab_kept", b"line one\nline\ttwo"),
            ("invalid_utf8", b"caf\xe9 \xff\xfe \xed\xa0\x80 \xc0\xaf ok \xc3\xa9"),
            ("del", b"a\x7fb"),
        ]
        for name, text in texts:
            v = Vec("sanitize_" + name, "parent", "pty",
                    "The report's text as a launcher gets it: one '?' for each control\n"
                    "character (C0 but \\n and \\t, DEL, C1) and each byte that is not UTF-8.")
            e = pb.ChildError(stage=pb.ChildError.STAGE_JAIL, errno_value=13)
            data = e.SerializeToString() + ld(3, text)
            v.frames.append(frame(env(ERROR, data)))
            v.report = (2, 13, sanitize(text))
            self.add("reports", err(v, "child_error"))
        v = Vec("report_unknown_stage", "parent", "wait_exec",
                "Any stage number is accepted, and reported as it is.")
        v.frames.append(frame(env(EXEC, b"")))
        v.frames.append(frame(env(ERROR, pb.ChildError(
            stage=9, errno_value=2, message="command not found").SerializeToString())))
        v.report = (9, 2, b"command not found")
        self.add("reports", err(v, "child_error"))


def files_msg(pb, n=1):
    f = pb.Files()
    for i in range(n):
        f.files.add(name="f%d" % i, fd=i)
    return f


def inject(msg, path, bad):
    """msg's bytes with bad appended inside the submessage at path (field
    numbers; the first element of a repeated one)."""
    if not path:
        return msg.SerializeToString() + bad
    f = msg.DESCRIPTOR.fields_by_number[path[0]]
    value = getattr(msg, f.name)
    sub = value[0] if f.label == F.LABEL_REPEATED else value
    inner = inject(sub, path[1:], bad)
    copy = type(msg)()
    copy.CopyFrom(msg)
    if f.label == F.LABEL_REPEATED:
        del getattr(copy, f.name)[0]
        rest = copy.SerializeToString()
        return ld(path[0], inner) + rest
    copy.ClearField(f.name)
    return copy.SerializeToString() + ld(path[0], inner)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--protoc-c", default="protoc-c")
    o = ap.parse_args()
    g = Gen(load(o.protoc_c))
    g.bodies()
    g.wiretypes()
    g.strings()
    g.frames()
    g.reports()
    for file, vecs in g.files.items():
        with open(os.path.join(o.out, file + ".vec"), "wb") as f:
            f.write(b"# SPDX-License-Identifier: Apache-2.0 OR MIT\n"
                    b"# Written by test/vectors/gen.py: do not edit (format: README.md).\n\n")
            f.write(b"\n".join(v.text() for v in vecs))


if __name__ == "__main__":
    sys.exit(main())
