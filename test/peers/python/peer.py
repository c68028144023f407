#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The Python peer as a program, with the demo's contract:

  peer.py parent [--timeout MS] [--child PROGRAM [ARGS...]] [-- COMMAND...]
  peer.py child

The parent starts the child (this program's child by default) with the
channel as fd 3 and its own stdin, stdout and stderr, sends the example
ChildArgs and exits with the child's exit code. At a terminal (fd 0, 1 or 2
is one) the child sends a pty, which the parent relays to stdout until EIO;
otherwise the child sends none and the command writes to the parent's
stdout and stderr itself (ChildArgs.pty is PTY_AUTO: the pty's slave
replaces only those of fds 0-2 that are terminals). The command runs in
paths.cwd (else host_home, else /) with the environment ChildArgs describes
(exposed variables, then set ones, $VAR expanded, empty removed, DROP_ENV),
looked up in that environment's PATH only; no command: its $SHELL, else
/bin/sh. Arguments and paths are bytes, passed unchanged. Handshake
failures print one line, "peer.py: WHAT FAILED [CLASS]" (for a child's report
"peer.py: child setup failed at STAGE: TEXT"), and exit 125.
DROPIPC_DUMP_SENT and DROPIPC_DUMP_ARGS name files for the dumps.
"""
import errno
import fcntl
import fnmatch
import os
import re
import struct
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
    os.write(2, os.fsencode("%s: %s%s\n" % (PROG, msg, " [%s]" % name if name else "")))
    sys.exit(EXIT_HANDSHAKE)


def handshake_failed(e):
    if e.name == "DROPIPC_ERR_CHILD":
        err = e.child_error
        # The report's text, sanitized by the end (no escapes from the sandbox).
        # The text comes sanitized (newline and tab kept): on our one line
        # they become '?' too, as the demo shows them.
        text = err.message.replace("\n", "?").replace("\t", "?")
        die("child setup failed at %s: %s" % (dropipc.stage_name(err.stage), text))
    die(e.msg, e.name)


def terminals():
    """Those of fds 0-2 that are terminals."""
    return [fd for fd in (0, 1, 2) if os.isatty(fd)]


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
    timeout, child, command = None, None, None
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--timeout":
            ms = int(argv[i + 1])
            timeout = None if ms < 0 else ms / 1000
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
    if command is None:
        command = []  # the child runs the user's shell

    end, child_end = dropipc.new_parent_child_socket()
    cfd = child_end.fileno()
    end.settimeout(timeout)

    def to_fd3():
        if cfd == dropipc.CHILD_FD:
            os.set_inheritable(cfd, True)
        else:
            os.dup2(cfd, dropipc.CHILD_FD)

    proc = subprocess.Popen(child, pass_fds=(dropipc.CHILD_FD,), preexec_fn=to_fd3)
    child_end.close()
    try:
        # Arguments are bytes as the kernel gave them (sys.argv's str went
        # through surrogateescape: os.fsencode restores them); the working
        # directory is this one, whatever its bytes.
        args = peerutil.example_args(pb, [os.fsencode(c) for c in command], os.getcwdb())
        peerutil.write_dump_env("DROPIPC_DUMP_SENT", args)
        end.send_child_args(args)
        if dropipc.pty_expected(args):
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


def child_pty(end, fds, size):
    """Sends a new pty's master; its slave becomes the controlling terminal
    and replaces fds (of 0-2); size: the ChildArgs.term_size, if any."""
    try:
        master, slave = os.openpty()
        if size is not None and size.rows and size.cols:
            fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack(
                "HHHH", size.rows, size.cols, size.x_pixels, size.y_pixels))
        end.send_pty(master)
    except OSError as e:
        child_fail(end, pb.ChildError.STAGE_PTY, e.errno, "openpty: %s" % e.strerror)
    except dropipc.IpcError as e:
        die(e.msg, e.name)
    os.close(master)
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in fds:
        os.dup2(slave, fd)
    os.close(slave)


def expand(value, inherited):
    """value with $VAR and ${VAR} replaced from inherited (an unset one by
    nothing); a '$' that starts no name stays, as the C child does."""
    return re.sub(rb"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))",
                  lambda m: inherited.get(m.group(1) or m.group(2), b""), value)


def environment(args):
    """The command's environment (PROTOCOL.md, "What a child does with
    ChildArgs"): the host's variables whose names match an exposed pattern
    (fnmatch), then each set one replaces its variable, expanded from the
    host's ($VAR, ${VAR}; an empty value removes it), then DROP_ENV=env_id
    unless a set one names it."""
    environ = args.config.environ
    env = {k: v for k, v in os.environb.items()
           if any(fnmatch.fnmatchcase(k, p) for p in environ.exposed_vars)}
    for s in environ.set_vars:
        env.pop(s.name, None)
        if s.value:
            env[s.name] = expand(s.value, os.environb)
    if not any(s.name == b"DROP_ENV" for s in environ.set_vars):
        env[b"DROP_ENV"] = args.env_id.encode()
    return env


def chdir(paths):
    """paths.cwd, else host_home, else / (no jail here: the host's)."""
    for d in (paths.cwd, paths.host_home, b"/"):
        try:
            os.chdir(d)
            return
        except OSError:
            pass


def lookup(name, env):
    """name's path in env's PATH (none without PATH: no default), or None."""
    if b"/" in name:
        return name if os.access(name, os.X_OK) else None
    if not env.get(b"PATH"):
        return None
    for d in env[b"PATH"].split(b":"):
        p = os.path.join(d or b".", name)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


def child():
    end = dropipc.ChildEnd()
    # recv_child_args reports arguments it cannot use to the parent itself.
    try:
        args = end.recv_child_args()
    except dropipc.IpcError as e:
        die(e.msg, e.name)
    peerutil.write_dump_env("DROPIPC_DUMP_ARGS", args)
    env = environment(args)
    chdir(args.paths)
    # No command: the user's shell, $SHELL of the new environment, else /bin/sh.
    argv = list(args.exec_args) or [env.get(b"SHELL") or b"/bin/sh"]
    name = argv[0]
    path = lookup(name, env)
    if path is None:
        child_fail(end, pb.ChildError.STAGE_EXEC, errno.ENOENT,
                   "execvp %s: %s" % (os.fsdecode(name), os.strerror(errno.ENOENT)))
    try:
        os.setsid()
    except OSError as e:
        # Already a session leader when the parent's spawn made the session.
        if os.getsid(0) != os.getpid():
            child_fail(end, pb.ChildError.STAGE_PTY, e.errno, "setsid: %s" % e.strerror)
    # PTY_AUTO: a pty only at a terminal, replacing only the fds that are
    # terminals, as Drop's child: the others stay what the parent gave.
    size = args.term_size if args.HasField("term_size") else None
    if args.pty == pb.PTY_ALWAYS:
        child_pty(end, (0, 1, 2), size)
    elif args.pty == pb.PTY_AUTO and terminals():
        child_pty(end, terminals(), size)
    try:
        end.confirm_exec()
    except dropipc.IpcError as e:
        die(e.msg, e.name)
    try:
        os.execve(path, argv, env)
    except OSError as e:
        child_fail(end, pb.ChildError.STAGE_EXEC, e.errno,
                   "execvp %s: %s" % (os.fsdecode(name), e.strerror))


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
