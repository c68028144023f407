# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The findings of issue 20 on the Python package, each through a real
socketpair with real fds (python3 -m unittest)."""
import errno
import os
import re
import socket
import struct
import time
import unittest

import dropipc
from dropipc import pb

HERE = os.path.dirname(os.path.abspath(__file__))


def args(**over):
    fields = dict(env_id="e", exec_args=["true"], paths={"cwd": "/"},
                  config={"net": {"mode": pb.Net.MODE_OFF}})
    fields.update(over)
    return dropipc.child_args(**fields)


def frame(payload, nfds=0):
    return struct.pack("<4sHHII", b"DIPC", 1, nfds, len(payload), 0) + payload


def ld(number, data):
    """A length-delimited field (number < 16, data < 128 bytes)."""
    assert len(data) < 128
    return bytes([number << 3 | 2, len(data)]) + data


class Pair(unittest.TestCase):
    def setUp(self):
        self.parent, self.child = dropipc.new_parent_child_socket()
        self.parent.settimeout(10)
        self.child.settimeout(10)
        self.addCleanup(self.parent.close)
        self.addCleanup(self.child.close)

    def roundtrip(self, a):
        self.parent.send_child_args(a)
        return self.child.recv_child_args()


class OSStrings(Pair):
    def test_latin1_cwd_and_xff_argument_pass_unchanged(self):
        got = self.roundtrip(args(exec_args=["grep", b"\xff", "f"], paths={"cwd": b"/tmp/caf\xe9"},
                                  config={"net": {"mode": 1}, "environ": {
                                      "set_vars": [{"name": b"V\xe9", "value": b"\xff\xfe"}],
                                      "exposed_vars": [b"LC_\xe9*"]}}))
        self.assertEqual(list(got.exec_args), [b"grep", b"\xff", b"f"])
        self.assertEqual(got.paths.cwd, b"/tmp/caf\xe9")
        self.assertEqual(got.config.environ.set_vars[0].value, b"\xff\xfe")
        self.assertEqual(got.config.environ.exposed_vars[0], b"LC_\xe9*")

    def test_str_with_surrogateescape_round_trips(self):
        cwd = os.fsdecode(b"/tmp/caf\xe9")  # as os.getcwd() gives it
        arg = os.fsdecode(b"\xff")
        got = self.roundtrip(args(exec_args=["grep", arg], paths={"cwd": cwd}))
        self.assertEqual(got.paths.cwd, b"/tmp/caf\xe9")
        d = dropipc.decode(got)
        self.assertEqual(d["paths"]["cwd"], cwd)
        self.assertEqual(d["exec_args"], ["grep", arg])
        self.assertEqual(os.fsencode(d["exec_args"][1]), b"\xff")

    def test_pathlike_accepted(self):
        import pathlib
        got = self.roundtrip(args(paths={"cwd": pathlib.PurePosixPath("/srv/x")}))
        self.assertEqual(got.paths.cwd, b"/srv/x")

    def test_embedded_nul_refused_naming_the_field(self):
        cases = [
            (args(paths={"cwd": b"/a\0b"}), "paths.cwd: NUL byte at byte 2"),
            (args(exec_args=["x", b"a\0"]), "exec_args[1]: NUL byte at byte 1"),
            (args(config={"net": {"mode": 1}, "mounts": [{"source": "/a", "target": b"/b\0"}]}),
             "config.mounts[0].target: NUL byte at byte 2"),
            (args(config={"net": {"mode": 1}, "environ": {
                "set_vars": [{"name": "A", "value": b"\0"}]}}),
             "config.environ.set_vars[0].value: NUL byte at byte 0"),
            (args(config={"net": {"mode": 1}, "blocked_paths": [b"/x\0"]}),
             "config.blocked_paths[0]: NUL byte at byte 2"),
        ]
        for a, want in cases:
            with self.assertRaises(dropipc.InvalidMessage) as cm:
                self.parent.send_child_args(a)
            self.assertIn(want, str(cm.exception))
        # And on receipt, from a parent that does not check.
        raw = pb.Envelope(child_args=args(exec_args=[b"a\0b"])).SerializeToString()
        self.parent.conn.sock.sendall(frame(raw))
        with self.assertRaises(dropipc.InvalidMessage) as cm:
            self.child.recv_child_args()
        self.assertEqual(str(cm.exception), "recv args: exec_args[0]: NUL byte at byte 1")


class Ports(Pair):
    def test_drop_auto_every_port(self):
        a = args(config={"net": {"mode": 2, "tcp_published_ports": [{"auto": True}],
                                 "udp_host_ports": [{"auto": True}]}})
        got = self.roundtrip(a)
        self.assertTrue(got.config.net.tcp_published_ports[0].auto)
        self.assertEqual(got.config.net.tcp_published_ports[0].guest_port, 0)

    def test_auto_with_a_port_or_address_refused(self):
        cases = [
            ({"tcp_published_ports": [{"auto": True, "guest_port": 80}]},
             "config.net.tcp_published_ports[0].guest_port: 80 set with auto"),
            ({"udp_published_ports": [{"auto": True, "host_port": 53}]},
             "config.net.udp_published_ports[0].host_port: 53 set with auto"),
            ({"tcp_published_ports": [{"auto": True, "host_ip": "::1"}]},
             "config.net.tcp_published_ports[0].host_ip: set with auto"),
            ({"tcp_host_ports": [{"auto": True, "host_port": 5432}]},
             "config.net.tcp_host_ports[0].host_port: 5432 set with auto"),
            ({"tcp_published_ports": [{"host_port": 0, "guest_port": 80}]},
             "config.net.tcp_published_ports[0].host_port: 0 is not in 1..65535"),
            ({"udp_host_ports": [{"host_port": 53, "guest_port": 0}]},
             "config.net.udp_host_ports[0].guest_port: 0 is not in 1..65535"),
        ]
        for net, want in cases:
            net["mode"] = 2
            with self.assertRaises(dropipc.InvalidMessage) as cm:
                self.parent.send_child_args(args(config={"net": net}))
            self.assertEqual(str(cm.exception), "send child args: " + want)


class Paths(Pair):
    def test_path_rule(self):
        ok = [b"~", b"/", b"/a", b"~/a/b", b"/etc/hosts", b"/a/.b/c..", b"/caf\xe9"]
        bad = {b"x": "path must start with / or ~/: x",
               b"~x": "path must start with / or ~/: ~x",
               b"": None,
               b"/etc/../usr": "path is not normalized: /etc/../usr",
               b"/a/./b": "path is not normalized: /a/./b",
               b"//a": "path is not normalized: //a",
               b"/a//b": "path is not normalized: /a//b",
               b"/a/": "path is not normalized: /a/",
               b"~/": "path is not normalized: ~/",
               b"~/..": "path is not normalized: ~/..",
               b"/.": "path is not normalized: /."}
        for p in ok:
            for m in ({"mounts": [{"source": p, "target": "/t"}]},
                      {"mounts": [{"source": "/s", "target": p}]}, {"blocked_paths": [p]}):
                dropipc.validate(args(config=dict(m, net={"mode": 1})))
        for p, why in bad.items():
            for m, what in (({"mounts": [{"source": p, "target": "/t"}]}, "mounts[0].source"),
                            ({"mounts": [{"source": "/s", "target": p}]}, "mounts[0].target"),
                            ({"blocked_paths": [p]}, "blocked_paths[0]")):
                with self.assertRaises(dropipc.InvalidMessage) as cm:
                    dropipc.validate(args(config=dict(m, net={"mode": 1})))
                self.assertEqual(str(cm.exception), "config.%s: %s" % (what, why or "empty"))

    def test_receiver_refuses_an_unnormalized_path(self):
        a = args(config={"net": {"mode": 1}, "mounts": [{"source": "/s", "target": "/etc/../usr"}]})
        self.parent.conn.sock.sendall(frame(pb.Envelope(child_args=a).SerializeToString()))
        with self.assertRaises(dropipc.InvalidMessage) as cm:
            self.child.recv_child_args()
        self.assertEqual(str(cm.exception),
                         "recv args: config.mounts[0].target: path is not normalized: /etc/../usr")


class PtyMode(Pair):
    def test_mode_and_size_arrive(self):
        got = self.roundtrip(args(pty=dropipc.PTY_NEVER,
                                  term_size={"rows": 50, "cols": 132, "x_pixels": 1, "y_pixels": 2}))
        self.assertEqual(got.pty, dropipc.PTY_NEVER)
        self.assertEqual((got.term_size.rows, got.term_size.cols), (50, 132))
        self.assertEqual(self.roundtrip(args()).pty, dropipc.PTY_AUTO)


    def test_pty_expected(self):
        master, slave = os.openpty()
        r, w = os.pipe()
        try:
            for mode, stdio, want in ((dropipc.PTY_AUTO, (r, w, w), False),
                                      (dropipc.PTY_AUTO, (r, slave, w), True),
                                      (dropipc.PTY_ALWAYS, (r, w, w), True),
                                      (dropipc.PTY_NEVER, (slave, slave, slave), False)):
                self.assertEqual(dropipc.pty_expected(args(pty=mode), stdio), want, (mode, stdio))
        finally:
            for fd in (master, slave, r, w):
                os.close(fd)


class CustomMessages(Pair):
    def check_direction(self, sender, receiver):
        r, w = os.pipe()
        try:
            sender.send_custom("org.example.Limits/1", b"\x00\xffdata", {"log": w})
            got = receiver.recv_custom()
        finally:
            os.close(w)
        self.assertEqual(got.type, "org.example.Limits/1")
        self.assertEqual(got.data, b"\x00\xffdata")
        self.assertEqual([f.name for f in got.files], ["log"])
        fd = got.files[0].fd
        self.assertNotIn(fd, (r, w))
        os.write(fd, b"through the fd")
        os.close(fd)
        self.assertEqual(os.read(r, 100), b"through the fd")
        os.close(r)

    def test_both_directions(self):
        self.check_direction(self.parent, self.child)
        self.check_direction(self.child, self.parent)

    def test_without_fds(self):
        self.child.send_custom("a.b/1")
        self.assertEqual(self.parent.recv_custom(), dropipc.Custom("a.b/1", b"", []))

    def test_bad_type_refused_on_both_ends(self):
        for t, why in (("", "custom.type: 0 bytes, not 1..256"),
                       ("a b", "custom.type: byte 1 is not printable ASCII"),
                       ("x" * 257, "custom.type: 257 bytes, not 1..256")):
            with self.assertRaises(dropipc.IpcError) as cm:
                self.parent.send_custom(t, b"")
            self.assertEqual(str(cm.exception), "send custom: " + why)
            self.assertEqual(cm.exception.errno, errno.EINVAL)
        r, w = os.pipe()
        raw = pb.Envelope(custom=pb.Custom(type="a b", files=[pb.File(name="x", fd=0)]))
        socket.send_fds(self.parent.conn.sock, [frame(raw.SerializeToString(), 1)], [r])
        os.close(r)
        with self.assertRaises(dropipc.InvalidMessage) as cm:
            self.child.recv_custom()
        self.assertEqual(str(cm.exception),
                         "recv custom: custom.type: byte 1 is not printable ASCII")
        # The fd that came was closed: the pipe has no reader left.
        with self.assertRaises(BrokenPipeError):
            os.write(w, b"x")
        os.close(w)

    def test_child_report_instead(self):
        self.child.send_error(dropipc.STAGE_JAIL, 1, "no")
        with self.assertRaises(dropipc.ChildFailed):
            self.parent.recv_custom()

    def test_files(self):
        r, w = os.pipe()
        self.child.send_files([("stdin", r), ("stdout", w)])
        os.close(r)
        os.close(w)
        files = self.parent.recv_files()
        self.assertEqual([f.name for f in files], ["stdin", "stdout"])
        os.write(files[1].fd, b"x")
        self.assertEqual(os.read(files[0].fd, 1), b"x")
        for f in files:
            os.close(f.fd)


class WireTypes(Pair):
    """Groups (wire types 3, 4) and known fields of the wrong wire type are
    refused at every depth of ChildArgs, as the C library does."""

    def refused(self, child_args_bytes, want):
        self.parent.conn.sock.sendall(frame(ld(1, child_args_bytes)))
        with self.assertRaises(dropipc.ProtocolError) as cm:
            self.child.recv_child_args()
        self.assertEqual(str(cm.exception), "recv args: " + want)

    def test_wrong_wire_type_named(self):
        # As test/unit/test_hardening.c: paths.cwd sent as a varint.
        self.refused(b"\x0a\x01x" + ld(2, b"\x08\x01"), "paths.cwd: wire type 0, expected 2")

    def test_wrong_wire_type_at_each_depth(self):
        cases = [
            (b"\x08\x01", "env_id: wire type 0, expected 2"),                      # depth 1
            (ld(3, b"\x0d\x00\x00\x00\x00"), "config.extends: wire type 5, expected 2"),
            (ld(3, ld(5, b"\x0a\x00")), "config.net.mode: wire type 2, expected 0"),
            (ld(3, ld(5, ld(2, b"\x18\x00" + b"\x21" + b"\0" * 8))),
             "config.net.tcp_published_ports[0].guest_port: wire type 1, expected 0"),
            (b"\x28" + b"\x01" + b"\x30\x01" + b"\x38\x01", "term_size: wire type 0, expected 2"),
        ]
        for data, want in cases:
            with self.subTest(want=want):
                self.setUp()
                self.refused(data, want)

    def test_group_at_each_depth(self):
        group = b"\x4b\x4c"  # field 9: start group, end group
        cases = [
            (group, "not valid protobuf: unsupported wire type (groups)"),
            (ld(2, group), "paths: not valid protobuf: unsupported wire type (groups)"),
            (ld(3, ld(5, group)), "config.net: not valid protobuf: unsupported wire type (groups)"),
            (ld(3, ld(2, b"\x0a\x01/" + group)),
             "config.mounts[0]: not valid protobuf: unsupported wire type (groups)"),
            (ld(3, ld(5, ld(3, group))), "config.net.udp_published_ports[0]: not valid "
             "protobuf: unsupported wire type (groups)"),
        ]
        for data, want in cases:
            with self.subTest(want=want):
                self.setUp()
                self.refused(data, want)

    def test_in_other_messages_too(self):
        # A ChildError whose stage comes length-delimited.
        self.child.conn.sock.sendall(frame(ld(3, ld(1, b""))))
        with self.assertRaises(dropipc.ProtocolError) as cm:
            self.parent.recv_pty()
        self.assertEqual(str(cm.exception), "recv pty: stage: wire type 2, expected 0")


class Sanitizer(unittest.TestCase):
    def test_table_of_lib_text_c(self):
        # The cases of test/unit/test_hardening.c, sanitize_table.
        cases = [
            (b"plain text", b"plain text"),
            (b"tab\tand\nnewline", b"tab\tand\nnewline"),
            (b"\x1b[2J\r\x07\x7f", b"?[2J???"),
            (b"a\xc2\x9b[31mb", b"a?[31mb"),
            (b"\xc2\x80\xc2\x9f\xc2\xa0", b"??\xc2\xa0"),
            (b"nul\0byte", b"nul?byte"),
            (b"caf\xe9!", b"caf?!"),
            (b"\xc0\xaf", b"??"),
            (b"\xed\xa0\x80", b"???"),
            (b"\xe2\x82", b"??"),
            (b"\xe2\x82\xac \xf0\x9f\x98\x80", b"\xe2\x82\xac \xf0\x9f\x98\x80"),
            (b"", b""),
        ]
        for raw, want in cases:
            with self.subTest(raw=raw):
                self.assertEqual(dropipc.sanitize(raw), want)
        self.assertEqual(dropipc.sanitize("a\u009bb\tc\n"), "a?b\tc\n")
        self.assertEqual(dropipc.sanitize(os.fsdecode(b"caf\xe9")), "caf?")

    def test_fast_utf8_check_is_lib_text_c(self):
        """The wire walk's fast path (Python's strict UTF-8) refuses exactly
        what utf8_decode() does, at the same byte."""
        import random
        from dropipc.text import utf8_decode
        from dropipc.wire import bad_string_byte

        def walk(s):
            i = 0
            while i < len(s):
                if s[i] == 0:
                    return i, True
                n = utf8_decode(s, i)[1]
                if n == 0:
                    return i, False
                i += n
            return -1, False
        parts = [b"a", b"\0", b"\xc3\xa9", b"\xe2\x82\xac", b"\xf0\x9f\x98\x80", b"\xed\xa0\x80",
                 b"\xc0\xaf", b"\xff", b"\xe2\x82", b"\xf4\x90\x80\x80", b"\xc2\x9b", b"\xe0\x80\x80"]
        rnd = random.Random(20)
        for _ in range(5000):
            s = b"".join(rnd.choice(parts) for _ in range(rnd.randint(0, 6)))
            self.assertEqual(bad_string_byte(s), walk(s), s)

    def test_child_report_is_sanitized(self):
        parent, child = dropipc.new_parent_child_socket()
        self.addCleanup(parent.close)
        self.addCleanup(child.close)
        child.send_error(dropipc.STAGE_JAIL, 0, "a\u009b[31m\tb\nc\x1b")
        with self.assertRaises(dropipc.ChildFailed) as cm:
            parent.recv_pty()
        self.assertEqual(str(cm.exception), "recv pty: child setup failed at jail: a?[31m?b?c?")
        self.assertEqual(cm.exception.child_error.message, "a?[31m\tb\nc?")

    def test_report_text_not_utf8_is_sanitized_not_refused(self):
        parent, child = dropipc.new_parent_child_socket()
        self.addCleanup(parent.close)
        self.addCleanup(child.close)
        raw = ld(3, b"caf\xe9 \xff ok \xc3\xa9") + b"\x08\x02\x10\x0d"  # message, stage, errno
        child.conn.sock.sendall(frame(ld(3, raw)))
        with self.assertRaises(dropipc.ChildFailed) as cm:
            parent.recv_pty()
        r = cm.exception.child_error
        self.assertEqual((r.stage, r.errno_value, r.message), (2, 13, "caf? ? ok \u00e9"))
        # A NUL is still refused.
        child.conn.sock.sendall(frame(ld(3, b"\x1a\x02a\0")))
        with self.assertRaises(dropipc.InvalidMessage) as cm:
            parent.recv_pty()
        self.assertEqual(str(cm.exception), "recv pty: message: NUL byte at byte 1")


class Exceptions(Pair):
    def test_every_error_is_an_oserror(self):
        for cls in (dropipc.IpcError, dropipc.EndOfStream, dropipc.Truncated,
                    dropipc.ProtocolError, dropipc.TooBig, dropipc.TimedOut,
                    dropipc.InvalidMessage, dropipc.Unsupported, dropipc.ChildFailed,
                    dropipc.NotAPty, dropipc.ConnectionUnusable, dropipc.NoExec):
            self.assertTrue(issubclass(cls, OSError), cls)
        self.assertTrue(issubclass(dropipc.TimedOut, TimeoutError))
        self.assertTrue(issubclass(dropipc.EndOfStream, EOFError))
        self.assertTrue(issubclass(dropipc.ConnectionReset, ConnectionResetError))

    def test_timeout_is_timeouterror_with_errno(self):
        self.parent.settimeout(0.01)
        with self.assertRaises(TimeoutError) as cm:
            self.parent.recv_pty()
        self.assertEqual(cm.exception.errno, errno.ETIMEDOUT)
        self.assertIsInstance(cm.exception, dropipc.IpcError)

    def test_broken_pipe_is_brokenpipeerror(self):
        self.child.close()
        with self.assertRaises(BrokenPipeError) as cm:
            self.parent.send_child_args(args())
        self.assertIsInstance(cm.exception, dropipc.IpcError)
        self.assertEqual(cm.exception.errno, errno.EPIPE)
        self.assertEqual(cm.exception.name, "EPIPE")
        self.assertEqual(str(cm.exception), "send child args: send: Broken pipe")

    def test_library_errors_carry_errno(self):
        self.parent.conn.sock.sendall(frame(b"\xff\xff\xff"))
        with self.assertRaises(OSError) as cm:
            self.child.recv_child_args()
        self.assertEqual((cm.exception.errno, cm.exception.name), (errno.EPROTO, "DROPIPC_ERR_PROTO"))
        with self.assertRaises(OSError) as cm:
            dropipc.validate(args(env_id=""))
        self.assertEqual(cm.exception.errno, errno.EINVAL)


class Timeouts(Pair):
    def test_seconds_as_socket_settimeout(self):
        self.assertEqual(self.parent.gettimeout(), 10.0)
        self.parent.settimeout(None)
        self.assertIsNone(self.parent.gettimeout())
        self.parent.settimeout(0.5)
        start = time.monotonic()
        with self.assertRaises(dropipc.TimedOut):
            self.parent.recv_pty()
        took = time.monotonic() - start
        # Half a second, not half a millisecond (the generous upper bound
        # only says it does not hang).
        self.assertGreaterEqual(took, 0.5)
        self.assertLess(took, 30)
        self.parent.settimeout(0)
        with self.assertRaises(dropipc.TimedOut):
            self.parent.recv_pty()
        for bad in (-1, -0.5, float("nan")):
            with self.assertRaises(ValueError):
                self.parent.settimeout(bad)
        self.assertFalse(hasattr(self.parent, "set_timeout"), "no milliseconds any more")


class Version(unittest.TestCase):
    def test_follows_the_c_library(self):
        """The package's version is the project VERSION of CMakeLists.txt
        (setup.py reads it when it builds)."""
        top = os.path.join(HERE, "..", "..", "CMakeLists.txt")
        if not os.path.exists(top):
            self.skipTest("not in the source tree")
        with open(top) as f:
            want = re.search(r"project\(dropipc VERSION ([0-9.]+)", f.read()).group(1)
        self.assertEqual(dropipc.__version__, want)
        from importlib import metadata
        self.assertEqual(metadata.version("dropipc"), want)


if __name__ == "__main__":
    unittest.main()
