# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Both ends of the package in one process (python3 -m unittest)."""
import errno
import os
import struct
import unittest

import dropipc


def example_args():
    return dropipc.child_args(
        env_id="test-env", exec_args=["ls", "-al"],
        paths={"cwd": "/home/alice/project",
               "fs_root": "/home/alice/.local/share/drop/internal/run/test-env-123/root"},
        config={"extends": "base.toml",
                "mounts": [{"source": "~/docs", "target": "~/docs", "overlay": True}],
                "net": {"mode": dropipc.pb.Net.MODE_ISOLATED,
                        "tcp_published_ports": [{"host_port": 8080, "guest_port": 3000}]}})


class Ends(unittest.TestCase):
    def setUp(self):
        self.parent, self.child = dropipc.new_parent_child_socket()
        self.parent.settimeout(10)
        self.child.settimeout(10)
        self.addCleanup(self.parent.close)
        self.addCleanup(self.child.close)
        self.sent = example_args()
        self.parent.send_child_args(self.sent)
        self.got = self.child.recv_child_args()

    def test_args_and_pty(self):
        self.assertFalse(self.sent.confirm_exec, "the caller's args are left as they were")
        self.assertTrue(self.got.confirm_exec, "the parent asks for a confirmation")
        self.got.confirm_exec = False
        self.assertEqual(self.got, self.sent)
        master, slave = os.openpty()
        self.child.send_pty(master)
        os.close(master)
        fd = self.parent.recv_pty()
        os.write(slave, b"through the pty")
        self.assertEqual(os.read(fd, 100), b"through the pty")
        os.close(fd)
        os.close(slave)

    def test_wait_exec_confirmed(self):
        self.child.confirm_exec()
        self.child.close()
        self.assertIsNone(self.parent.wait_exec())

    def test_wait_exec_without_confirmation(self):
        self.child.close()
        with self.assertRaises(dropipc.NoExec) as cm:
            self.parent.wait_exec()
        self.assertEqual(cm.exception.name, "DROPIPC_ERR_NOEXEC")
        self.assertEqual(str(cm.exception),
                         "wait exec: the child closed the channel without confirming its exec")

    def test_wait_exec_child_error(self):
        for confirm in (False, True):
            if confirm:
                self.child.confirm_exec()
            self.child.send_error(dropipc.STAGE_EXEC, errno.ENOENT, "execvp x: gone\x1b[2J")
            with self.assertRaises(dropipc.ChildFailed) as cm:
                self.parent.wait_exec()
            self.assertEqual(str(cm.exception),
                             "wait exec: child setup failed at exec: execvp x: gone?[2J")
            self.assertEqual(self.parent.child_error.errno_value, errno.ENOENT)

    def test_no_confirmation_when_not_asked(self):
        self.child.confirm = False  # as after args from an older parent
        self.child.confirm_exec()
        self.child.close()
        with self.assertRaises(dropipc.EndOfStream):
            self.parent.recv_pty()

    def test_recv_pty_eof_is_eoferror(self):
        self.child.close()
        with self.assertRaises(EOFError):
            self.parent.recv_pty()

    def test_timeout(self):
        self.parent.settimeout(0.05)
        with self.assertRaises(dropipc.TimedOut):
            self.parent.recv_pty()

    def test_invalid(self):
        bad = example_args()
        bad.config.net.tcp_published_ports[0].guest_port = 70000
        with self.assertRaises(dropipc.InvalidMessage) as cm:
            self.parent.send_child_args(bad)
        self.assertIn("config.net.tcp_published_ports[0].guest_port: 70000", str(cm.exception))


class BadFrame(unittest.TestCase):
    def test_bad_magic_reported(self):
        """recv_child_args reports a frame it cannot use to the parent, also
        when the frame broke the stream, and only once."""
        parent, child = dropipc.new_parent_child_socket()
        self.addCleanup(parent.close)
        self.addCleanup(child.close)
        parent.settimeout(10)
        child.settimeout(10)
        parent.conn.sock.sendall(struct.pack("<4sHHII", b"XIPC", dropipc.VERSION, 0, 0, 0))
        with self.assertRaises(dropipc.ProtocolError) as cm:
            child.recv_child_args()
        self.assertEqual(str(cm.exception), 'recv args: bad magic 58 49 50 43 (expected "DIPC")')
        with self.assertRaises(dropipc.ChildFailed) as cm:
            parent.recv_pty()
        report = cm.exception.child_error
        self.assertEqual(report.stage, dropipc.STAGE_ARGS)
        self.assertEqual(report.errno_value, 0)
        self.assertEqual(report.message, 'cannot use the arguments: bad magic 58 49 50 43 '
                         '(expected "DIPC")')
        # The stream stays broken for a receive, and that is not reported again.
        with self.assertRaises(dropipc.ConnectionUnusable):
            child.recv_child_args()
        child.close()
        with self.assertRaises(dropipc.EndOfStream):
            parent.recv_pty()


if __name__ == "__main__":
    unittest.main()
