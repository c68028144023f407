#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The Python peer as a program, with the demo's contract:

  peer.py parent [--timeout MS] [--child PROGRAM [ARGS...]] [-- COMMAND...]
  peer.py child

The parent starts the child (this program's child by default) with the
channel as fd 3 and its own stdin, stdout and stderr, sends the example
ChildArgs and exits with the child's exit code. At a terminal (fd 0, 1 or 2
is one) the child sends a pty, which the parent relays to stdout until EIO;
otherwise the child sends none and the command writes to the parent's
stdout and stderr itself. Handshake
failures print one line, "peer.py: WHAT FAILED [CLASS]" (for a child's report
"peer.py: child setup failed at STAGE: TEXT"), and exit 125.
DROPIPC_DUMP_SENT and DROPIPC_DUMP_ARGS name files for the dumps.
"""
import errno
import fcntl
import os
import shutil
import subprocess
import sys
import termios

import dropipc
from dropipc import pb

import peerutil

PROG = "peer.py"
EXIT_HANDSHAKE = 125


def die(msg, name=None):
    # One write, so that lines of the parent and the child do not interleave.
    os.write(2, ("%s: %s%s\n" % (PROG, msg, " [%s]" % name if name else "")).encode())
    sys.exit(EXIT_HANDSHAKE)


def handshake_failed(e):
    if e.name == "DROPIPC_ECHILD":
        err = e.child_error
        die("child setup failed at %s: %s" % (dropipc.stage_name(err.stage), err.message))
    die(e.msg, e.name)


def at_terminal():
    """Whether fd 0, 1 or 2 is a terminal: then the child sends a pty."""
    return any(os.isatty(fd) for fd in (0, 1, 2))


def relay(master):
    while True:
        try:
            data = os.read(master, 65536)
        except OSError as e:
            if e.errno == errno.EIO:  # every slave fd is closed: the command is done
                return
            raise
        if not data:
            return
        os.write(1, data)


def parent(argv):
    timeout, child, command = -1, None, None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--timeout":
            timeout = int(argv[i + 1])
            i += 2
        elif a == "--child":
            j = argv.index("--", i) if "--" in argv[i:] else len(argv)
            child = argv[i + 1:j]
            i = j
        elif a == "--":
            command = argv[i + 1:]
            break
        else:
            die("unknown argument %s" % a)
    if not child:
        child = [sys.executable, os.path.abspath(__file__), "child"]
    if not command:
        command = ["/bin/sh"]

    end, child_end = dropipc.new_parent_child_socket()
    cfd = child_end.fileno()
    end.set_timeout(timeout)

    def to_fd3():
        if cfd == dropipc.CHILD_FD:
            os.set_inheritable(cfd, True)
        else:
            os.dup2(cfd, dropipc.CHILD_FD)

    proc = subprocess.Popen(child, pass_fds=(dropipc.CHILD_FD,), preexec_fn=to_fd3)
    child_end.close()
    try:
        args = peerutil.example_args(pb, command)
        peerutil.write_dump_env("DROPIPC_DUMP_SENT", args)
        end.send_child_args(args)
        if at_terminal():
            master = end.recv_pty()
            try:
                relay(master)
            finally:
                os.close(master)
        end.wait_exec()
    except dropipc.IpcError as e:
        proc.kill()
        proc.wait()
        handshake_failed(e)
    end.close()
    code = proc.wait()
    sys.exit(128 - code if code < 0 else code)


def child_fail(end, stage, err, msg, name=None):
    try:
        end.send_error(stage, err, msg)
    except dropipc.IpcError:
        pass
    die(msg, name)


def child_pty(end):
    """Sends a new pty's master; its slave becomes the controlling terminal
    and fds 0-2."""
    try:
        master, slave = os.openpty()
        end.send_pty(master)
    except OSError as e:
        child_fail(end, pb.ChildError.STAGE_PTY, e.errno, "openpty: %s" % e.strerror)
    except dropipc.IpcError as e:
        die(e.msg, e.name)
    os.close(master)
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.close(slave)


def child():
    end = dropipc.ChildEnd()
    # recv_child_args reports arguments it cannot use to the parent itself.
    try:
        args = end.recv_child_args()
    except dropipc.IpcError as e:
        die(e.msg, e.name)
    peerutil.write_dump_env("DROPIPC_DUMP_ARGS", args)
    name = args.exec_args[0]
    if not (shutil.which(name) if "/" not in name else os.access(name, os.X_OK)):
        child_fail(end, pb.ChildError.STAGE_EXEC, errno.ENOENT,
                   "execvp %s: %s" % (name, os.strerror(errno.ENOENT)))
    try:
        os.setsid()
    except OSError as e:
        # Already a session leader when the parent's spawn made the session.
        if os.getsid(0) != os.getpid():
            child_fail(end, pb.ChildError.STAGE_PTY, e.errno, "setsid: %s" % e.strerror)
    # A pty only at a terminal, as Drop's child: otherwise fds 0-2 stay what
    # the parent gave.
    if at_terminal():
        child_pty(end)
    try:
        end.confirm_exec()
    except dropipc.IpcError as e:
        die(e.msg, e.name)
    try:
        os.execvp(name, list(args.exec_args))
    except OSError as e:
        child_fail(end, pb.ChildError.STAGE_EXEC, e.errno, "execvp %s: %s" % (name, e.strerror))


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "parent":
        parent(sys.argv[2:])
    elif len(sys.argv) == 2 and sys.argv[1] == "child":
        child()
    else:
        print("usage: %s parent [--timeout MS] [--child PROGRAM [ARGS...]] [-- COMMAND...]\n"
              "       %s child" % (PROG, PROG), file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
