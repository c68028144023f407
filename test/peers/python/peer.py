#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""The Python peer as a program, with the demo's contract:

  peer.py parent [--timeout MS] [--child PROGRAM [ARGS...]] [-- COMMAND...]
  peer.py child

The parent starts the child (this program's child by default) with the
channel as fd 3, sends the example ChildArgs, relays the pty the child hands
back to stdout until EIO and exits with the child's exit code. Handshake
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

import dropipc_ipc as ipc
from dropipc_ipc import pb

PROG = "peer.py"
EXIT_HANDSHAKE = 125
HOME = "/home/alice/.local/share/drop"


def example_args(command):
    """Every field of the schema set, most to non-default values."""
    a = pb.ChildArgs(env_id="test-env", exec_args=command)
    p = a.paths
    p.cwd = HOME + "/cwd"
    p.drop_home = HOME
    p.env = HOME + "/envs/test-env"
    p.fs_root = HOME + "/internal/run/test-env/root"
    p.host_home = "/home/alice"
    p.home = HOME + "/envs/test-env/home"
    p.etc = HOME + "/envs/test-env/etc"
    p.var = HOME + "/envs/test-env/var"
    p.tmp = HOME + "/internal/run/test-env/tmp"
    p.run = HOME + "/internal/run/test-env"
    p.empty_dir = HOME + "/internal/emptydir"
    p.empty_file = HOME + "/internal/emptyfile"
    c = a.config
    c.extends = "base"
    c.mounts.add(source="~/docs", target="~/docs", rw=False, overlay=True)
    c.mounts.add(source="~/projects", target="~/projects", rw=True, overlay=True)
    c.blocked_paths.extend(["/root", "/mnt"])
    c.environ.exposed_vars.extend(["PATH", "HOME", "LC_*"])
    c.environ.set_vars.add(name="FOO", value="bar")
    c.environ.set_vars.add(name="ODD", value="tab\there \\ nl\n del\x7f caf\u00e9")
    n = c.net
    n.mode = pb.Net.MODE_ISOLATED
    n.tcp_published_ports.add(host_port=8080, guest_port=3000)
    n.tcp_published_ports.add(host_ip="127.0.0.1", host_port=8082, guest_port=3003)
    n.udp_published_ports.add(auto=True, host_ip="::1", guest_port=5353)
    n.tcp_host_ports.add(host_port=5432, guest_port=15432)
    n.udp_host_ports.add(auto=True, host_port=53)
    return a


def die(msg, name=None):
    # One write, so that lines of the parent and the child do not interleave.
    os.write(2, ("%s: %s%s\n" % (PROG, msg, " [%s]" % name if name else "")).encode())
    sys.exit(EXIT_HANDSHAKE)


def handshake_failed(e):
    if e.name == "DROPIPC_ECHILD":
        err = e.child_error
        die("child setup failed at %s: %s" % (ipc.stage_name(err.stage), err.message))
    die(e.msg, e.name)


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

    end, child_sock = ipc.socketpair()
    cfd = child_sock.fileno()
    end.set_timeout(timeout)

    def to_fd3():
        if cfd == ipc.CHILD_FD:
            os.set_inheritable(cfd, True)
        else:
            os.dup2(cfd, ipc.CHILD_FD)

    proc = subprocess.Popen(child, pass_fds=(ipc.CHILD_FD,), preexec_fn=to_fd3)
    child_sock.close()
    try:
        args = example_args(command)
        ipc.write_dump_env("DROPIPC_DUMP_SENT", args)
        end.send_child_args(args)
        master = end.recv_pty()
        try:
            relay(master)
        finally:
            os.close(master)
        end.wait_exec()
    except ipc.IpcError as e:
        proc.kill()
        proc.wait()
        handshake_failed(e)
    end.close()
    code = proc.wait()
    sys.exit(128 - code if code < 0 else code)


def child_fail(end, stage, err, msg, name=None):
    try:
        end.send_error(stage, err, msg)
    except ipc.IpcError:
        pass
    die(msg, name)


def child():
    end = ipc.Child.from_fd()
    try:
        args = end.recv_child_args()
    except ipc.IpcError as e:
        child_fail(end, pb.ChildError.STAGE_ARGS, 0, e.msg, e.name)
    ipc.write_dump_env("DROPIPC_DUMP_ARGS", args)
    name = args.exec_args[0]
    if not (shutil.which(name) if "/" not in name else os.access(name, os.X_OK)):
        child_fail(end, pb.ChildError.STAGE_EXEC, errno.ENOENT,
                   "execvp %s: %s" % (name, os.strerror(errno.ENOENT)))
    try:
        master, slave = os.openpty()
        end.send_pty(master)
    except OSError as e:
        child_fail(end, pb.ChildError.STAGE_PTY, e.errno, "openpty: %s" % e.strerror)
    except ipc.IpcError as e:
        die(e.msg, e.name)
    os.close(master)
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    os.close(slave)
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
