#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Cross-language tests of the peers: C (the demo), Go and Python.

  peers_test.py [OPTIONS] pair PARENT CHILD       the full handshake
  peers_test.py [OPTIONS] childerr PARENT CHILD   a child's setup failure
  peers_test.py [OPTIONS] shell PARENT CHILD      no command: the user's shell
  peers_test.py [OPTIONS] childenv CHILD          paths.cwd and config.environ
  peers_test.py [OPTIONS] vectors CHILD           test/vectors through the child program
  peers_test.py [OPTIONS] limits LANG             hostile frames, both ends
  peers_test.py [OPTIONS] jail                    the Go parent, the C child's jail
  peers_test.py fakechild CASE                    (internal) a hostile child

OPTIONS: --work DIR (from setup.sh), --demo DIR (dropipc-demo's directory).
LANG, PARENT and CHILD are c, go or python. Run it with the Python of the
virtual environment setup.sh made (WORK/venv), where the dropipc package is
installed; the Go peer is built from the Go module.

The C parent is the demo, which builds Drop's sandbox: its ChildArgs are
what its command line says (so the pair test gives it an option for every
field, and ports need --net isolated: pasta), and it runs its child in new
namespaces. The C child builds the jail from the paths it gets; the Go and
Python parents send made-up paths, so with them it runs with --no-jail
(the handshake only); `jail` runs it for real under the Go parent. Every
child sends a pty only when it runs at a terminal: without one the
command's output arrives through the parent's pipes (or its own stdout).
Exit status 77: the test cannot run here (SKIP).
"""
import argparse
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = sys.executable
CMD_TIMEOUT = 30
# The command of the pair test: its output, and whether its stdout is a tty.
COMMAND = ["sh", "-c", "echo hello-from-the-command; printf 'arg=%s\\n' \"$1\"; "
           "[ -t 0 ] && echo stdin-is-a-tty || echo stdin-is-no-tty; "
           "[ -t 1 ] && echo stdout-is-a-tty || echo stdout-is-no-tty", "sh", b"\xff"]
# The working directory the parents run in: Latin-1, not UTF-8.
LATIN1_DIR = b"caf\xe9-dir"
PRINTED = b"hello-from-the-command"
MISSING = "nosuchcmd-dropipc-test"
PROGS = {"c": "dropipc-demo", "go": "dropipc-peer-go", "python": "peer.py"}
# What each child reports for a command it cannot find (stage exec): the
# peers keep their own words, the parent shows them after its prefix.
MISSING_TEXT = {"c": "command %s: not found (PATH " % MISSING,
                "go": "execvp %s: No such file or directory" % MISSING,
                "python": "execvp %s: No such file or directory" % MISSING}
ODD = "tab\there \\ nl\n del\x7f caf\u00e9"  # as peerutil.example_args sets it
SKIP = 77


def setup_env(work):
    """The test helpers (peerutil) for this process and the peers it starts."""
    here = os.path.join(HERE, "python")
    os.environ["PYTHONPATH"] = here
    sys.path.insert(0, here)


def programs(opts, lang, jail=True):
    """(parent argv prefix, child argv) of a language; jail=False: the C
    child only does the handshake (its parent sends made-up paths)."""
    if lang == "c":
        return ([os.path.join(opts.demo, "dropipc-demo")],
                [os.path.join(opts.demo, "dropipc-demo-child")] + ([] if jail else ["--no-jail"]))
    if lang == "go":
        go = os.path.join(opts.work, "bin", "dropipc-peer-go")
        return [go, "parent"], [go, "child"]
    peer = os.path.join(HERE, "python", "peer.py")
    return [PY, peer, "parent"], [PY, peer, "child"]


def run(argv, env=None, timeout=CMD_TIMEOUT, tty=False, cwd=None):
    """argv's result; tty: its stdin is a terminal (a pty whose master we
    hold), so that the child sends a pty; stdout and stderr are pipes."""
    if not tty:
        return subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                              env=env, timeout=timeout, cwd=cwd)
    master, slave = os.openpty()
    try:
        return subprocess.run(argv, stdin=slave, capture_output=True, env=env,
                              timeout=timeout, cwd=cwd)
    finally:
        os.close(slave)
        os.close(master)


def run_at_terminal(argv):
    """argv with fds 0-2 on a new pty; (exit code, all it wrote there)."""
    import pty
    pid, master = pty.fork()
    if pid == 0:
        try:
            os.execvp(argv[0], argv)
        finally:
            os._exit(127)
    out = b""
    deadline = time.monotonic() + CMD_TIMEOUT
    while time.monotonic() < deadline:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: the last slave fd closed
            break
        if not data:
            break
        out += data
    os.close(master)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), out


def skip(why):
    print("SKIP: " + why)
    sys.exit(SKIP)


def check(cond, what, proc=None):
    if cond:
        return
    print("FAIL: " + what, file=sys.stderr)
    if proc is not None:
        print("  exit %d\n  stdout: %r\n  stderr: %r" % (proc.returncode, proc.stdout,
                                                        proc.stderr), file=sys.stderr)
    sys.exit(1)


def schema_leaves(desc, prefix=""):
    """Every scalar path of the schema from desc, repeated indexes left out."""
    from google.protobuf.descriptor import FieldDescriptor as F
    out = set()
    for f in desc.fields:
        if f.type == F.TYPE_MESSAGE:
            out |= schema_leaves(f.message_type, prefix + f.name + ".")
        else:
            out.add(prefix + f.name)
    return out


def free_port(family, kind):
    """A port nothing listens on now, for pasta to publish (tests run in
    parallel: fixed ports would collide)."""
    with socket.socket(family, kind) as so:
        so.bind(("::1" if family == socket.AF_INET6 else "127.0.0.1", 0))
        return so.getsockname()[1]


def c_parent_options(tmp, every_field):
    """The demo's options: its own state directory; every_field: one option
    for every field of ChildArgs the command line can set (the C parent
    sends what its command line describes)."""
    opts = ["--state", os.path.join(tmp, "state"), "--env", "test-env"]
    if not every_field:
        return opts
    if not shutil.which("pasta") or not os.access("/dev/net/tun", os.R_OK | os.W_OK):
        skip("ports need --net isolated, which needs pasta (Debian's passt) and /dev/net/tun")
    src = os.path.join(tmp, "src")
    os.mkdir(src)
    try:
        udp_ip, udp = "[::1]", free_port(socket.AF_INET6, socket.SOCK_DGRAM)
    except OSError:  # no IPv6 here
        udp_ip, udp = "127.0.0.1", free_port(socket.AF_INET, socket.SOCK_DGRAM)
    return opts + [
        "--net", "isolated",
        "--mount", "~/docs:~/docs:overlay",
        "--mount", src + ":/mnt/dropipc-test:rw,overlay",
        "--block", "/etc/hostname", "--block", "~/.ssh",
        "--expose", "LC_*",
        "--set", "FOO=bar", "--set", "ODD=" + ODD,
        "-p", "127.0.0.1:%d:3000" % free_port(socket.AF_INET, socket.SOCK_STREAM),
        "-p", "%s:%d:5353/udp" % (udp_ip, udp),
        "--host-port", "5432:15432", "--host-port", "53/udp",
        "--pty", "auto", "--term-size", "24x80"]


def parent_argv(opts, parent, child, command, timeout=10000, tmp=None, every_field=False):
    par, _ = programs(opts, parent)
    _, ch = programs(opts, child, jail=parent == "c")
    extra = c_parent_options(tmp, every_field) if parent == "c" else []
    return par + extra + ["--timeout", str(timeout), "--child"] + ch + ["--"] + command


def test_pair(opts, parent, child):
    from dropipc import pb
    with tempfile.TemporaryDirectory() as tmp:
        sent, got = os.path.join(tmp, "sent"), os.path.join(tmp, "args")
        env = dict(os.environ, DROPIPC_DUMP_SENT=sent, DROPIPC_DUMP_ARGS=got)
        argv = parent_argv(opts, parent, child, COMMAND, tmp=tmp, every_field=True)
        cwd = os.path.join(os.fsencode(tmp), LATIN1_DIR)
        os.mkdir(cwd)
        p = run(argv, env, cwd=cwd)
        check(p.returncode == 0, "%s parent / %s child: handshake" % (parent, child), p)
        check(PRINTED in p.stdout, "the command's output arrives (no terminal: no pty)", p)
        check(b"arg=\xff\n" in p.stdout, "the argument b'\\xff' reaches the command unchanged",
              p)
        check(b"stdin-is-no-tty" in p.stdout and b"stdout-is-no-tty" in p.stdout,
              "without a terminal the command gets no pty", p)
        with open(sent, "rb") as f:
            a = f.read()
        with open(got, "rb") as f:
            b = f.read()
        # At a terminal (stdin only) the child sends a pty, which replaces
        # only the fds that are terminals (PTY_AUTO, Drop's rule): the
        # command's stdin is the pty, its stdout stays the pipe it was.
        t = run(parent_argv(opts, parent, child, COMMAND, tmp=tmp), tty=True)
        check(t.returncode == 0, "%s parent / %s child at a terminal: handshake"
              % (parent, child), t)
        # (The demo shows a command's own output on its stderr, sanitized.)
        out = t.stdout + t.stderr
        check(PRINTED in out and b"stdin-is-a-tty" in out and b"stdout-is-no-tty" in out,
              "at a terminal the command's stdin is the pty, its stdout the pipe it was", t)
        if parent == "c" and child != "c":
            # docs/DEMO.md: with fds 0-2 at a terminal, a --child's stdout
            # is the demo's pipe of the child's messages, shown sanitized
            # on stderr; --pty always puts the pty on all three fds.
            par, _ = programs(opts, "c")
            _, ch = programs(opts, child, jail=False)
            code, out = run_at_terminal(par + ["--child"] + ch + ["--"] + COMMAND)
            check(code == 0 and b"arg=?" in out and b"stdout-is-no-tty" in out,
                  "the demo at a terminal shows a --child's output sanitized: %r" % out)
            code, out = run_at_terminal(par + ["--pty", "always", "--child"] + ch + ["--"] + COMMAND)
            check(code == 0 and b"stdout-is-a-tty" in out and b"arg=\xff" in out,
                  "with --pty always a --child's command has the pty on stdout: %r" % out)
    # confirm_exec is the ends' business, not the caller's: the dumps do not
    # write it (docs/PROTOCOL.md, "The dump format").
    check(not re.search(rb"(?m)^confirm_exec=", a) and not re.search(rb"(?m)^confirm_exec=", b),
          "the dumps do not write confirm_exec:\n%s\n---\n%s"
          % (a.decode(errors="replace"), b.decode(errors="replace")))
    check(a == b, "the dump the parent sent equals the dump the child received:\n%s\n---\n%s"
          % (a.decode(errors="replace"), b.decode(errors="replace")))
    paths = {re.sub(r"\[\d+\]", "", line.split(b"=", 1)[0].decode())
             for line in a.splitlines()}
    want = schema_leaves(pb.ChildArgs.DESCRIPTOR) - {"confirm_exec"}
    if parent != "python":
        # The terminal's size: the C and Go parents send it from a terminal.
        want = {w for w in want if not w.startswith("term_size.")}
        paths -= {p for p in paths if p.startswith("term_size.")}
    check(paths == want, "every field of ChildArgs is set; missing %s, unknown %s"
          % (sorted(want - paths), sorted(paths - want)))
    check(b"exec_args[2]=echo hello-from-the-command;" in a, "exec_args come from the command line")
    check(b"\nexec_args[4]=\xff\n" in a, "the argument b'\\xff' is in the dump as it is")
    if parent != "go":
        # The C and Python parents send their own working directory; the Go
        # peer sends a made-up one.
        check(re.search(rb"(?m)^paths\.cwd=.*/" + LATIN1_DIR + rb"$", a) is not None,
              "the Latin-1 working directory is sent unchanged")
    odd = b"config.environ.set_vars[1].value=tab\\x09here \\\\ nl\\n del\\x7f caf\xc3\xa9\n"
    check(odd in a, "a value with control characters arrives as it was sent: %r" % odd)
    print("ok: %s parent / %s child: %d lines equal, every field set, b'\\xff' and the Latin-1 "
          "directory unchanged, a pty only for the terminal fds" % (parent, child,
                                                                   len(a.splitlines())))


def test_childerr(opts, parent, child):
    with tempfile.TemporaryDirectory() as tmp:
        p = run(parent_argv(opts, parent, child, [MISSING, "x"], tmp=tmp))
    prefix = ("%s: child setup failed at exec: %s" % (PROGS[parent], MISSING_TEXT[child])).encode()
    check(p.returncode == 125, "%s parent exits 125 on the %s child's report" % (parent, child), p)
    check(any(line.startswith(prefix) for line in p.stderr.splitlines()),
          "the parent shows the child's report at stage exec: %r" % prefix, p)
    print("ok: %s child's setup failure shown by the %s parent" % (child, parent))


def test_shell(opts, parent, child):
    """No command: the child runs the user's shell ($SHELL of the new
    environment, else /bin/sh), which reads its commands from stdin."""
    with tempfile.TemporaryDirectory() as tmp:
        argv = parent_argv(opts, parent, child, [], tmp=tmp)
        p = subprocess.run(argv, input=b"echo from-the-shell $((6 * 7))\n", capture_output=True,
                           timeout=CMD_TIMEOUT)
    check(p.returncode == 0, "%s parent / %s child without a command: the shell ran"
          % (parent, child), p)
    check(b"from-the-shell 42" in p.stdout, "the shell read its commands from stdin", p)
    print("ok: %s parent / %s child: no command runs the shell" % (parent, child))


def test_jail(opts):
    """The Go parent lays out Drop's state and starts the C child as Drop
    does (namespaces, id maps, ambient capabilities); the child builds the
    real jail, and the command runs inside it."""
    if shutil.which("unshare") and subprocess.run(
            ["unshare", "-Ur", "true"], stdin=subprocess.DEVNULL,
            capture_output=True).returncode != 0:
        skip("user namespaces are not available here (unshare -Ur fails)")
    par, _ = programs(opts, "go")
    _, ch = programs(opts, "c")
    with tempfile.TemporaryDirectory() as tmp:
        # The Go peer's layout (test/peers/go/peer/main.go, jailArgs): its
        # paths.tmp, which the jail mounts as /tmp.
        tmpdir = os.path.join(tmp, "internal", "run", "jail-test", "tmp")
        os.makedirs(tmpdir)
        with open(os.path.join(tmpdir, "jail-marker"), "w") as f:
            f.write("marker-from-paths.tmp\n")
        script = ("echo pid=$$; echo uid=$(id -u); cat /tmp/jail-marker; "
                  "[ -e %s ] && echo host-visible || echo host-hidden" % tmp)
        p = run(par + ["--timeout", "10000", "--jail", tmp, "--child"] + ch +
                ["--", "sh", "-c", script])
    check(p.returncode == 0, "go parent / c child in the jail: handshake", p)
    out = p.stdout.decode(errors="replace").split()
    # PID 1 is the C child, staying as the sandbox's init
    # (dropipc_child_exec_init); the command is its first child.
    check("pid=2" in out, "the command is PID 2 of its own PID namespace, under the init", p)
    check("uid=%d" % os.getuid() in out, "the command's uid is ours, mapped to itself", p)
    check("marker-from-paths.tmp" in out, "the jail's /tmp is paths.tmp", p)
    check("host-hidden" in out, "the host's %s is not visible in the jail" % tmp, p)
    print("ok: go parent / c child: the jail built, the command ran inside it")


# ---- hostile frames ---------------------------------------------------------

def frame(payload, nfds=0, version=1, reserved=0, magic=b"DIPC", length=None):
    n = len(payload) if length is None else length
    return struct.pack("<4sHHII", magic, version, nfds, n, reserved) + payload


def envelope(**body):
    from dropipc import pb
    return pb.Envelope(**body).SerializeToString()


def good_args():
    import peerutil
    from dropipc import pb
    return peerutil.example_args(pb, ["true"])


def field(number, data):
    """A length-delimited protobuf field (number < 16)."""
    n, length = len(data), bytearray()
    while n >= 0x80:
        length.append(n & 0x7F | 0x80)
        n >>= 7
    return bytes([number << 3 | 2]) + bytes(length) + bytes([n]) + data


def sendfds(sock, data, fds):
    socket.send_fds(sock, [data], fds)


# Frames a hostile parent sends to a child: name -> (send function, class,
# message). The send function gets the socket.
def child_cases():
    from dropipc import pb
    args = good_args().SerializeToString()
    empty_pattern = good_args()
    empty_pattern.config.environ.exposed_vars.append(b"")
    bad_port = good_args()
    bad_port.config.net.tcp_published_ports[0].guest_port = 70000
    nul = good_args()
    nul.env_id = "a\0b"
    latin1 = good_args()
    latin1.env_id = "UTF8MARK"
    latin1 = latin1.SerializeToString().replace(b"UTF8MARK", b"caf\xe9MARK")
    err = pb.ChildError(stage=2, message="x")
    nul_bytes = good_args()
    nul_bytes.paths.cwd = b"/a\0b"
    bad_path = good_args()
    bad_path.config.mounts[0].target = b"/etc/../usr"
    # ChildArgs{env_id: "x", paths: Paths{cwd: a varint}} (as the C test).
    wrong_type = b"\x0a\x01x" + field(2, b"\x08\x01")
    # A group (field 9, start and end) inside config.net.
    group = field(3, field(5, b"\x4b\x4c"))

    def pipe_fds(n):
        fds = []
        for _ in range(n):
            r, w = os.pipe()
            os.close(w)
            fds.append(r)
        return fds

    def with_fds(data, n):
        def send(s):
            fds = pipe_fds(n)
            sendfds(s, data, fds)
            for fd in fds:
                os.close(fd)
        return send

    def late_fd(s):
        payload = envelope(child_args=good_args())
        s.sendall(frame(b"", length=len(payload)))
        time.sleep(0.1)
        with_fds(payload, 1)(s)

    def truncated(s):
        s.sendall(frame(b"abc", length=10))
        s.shutdown(socket.SHUT_WR)

    return {
        "eof": (lambda s: s.shutdown(socket.SHUT_WR), "DROPIPC_ERR_OF",
                "recv args: peer closed the connection"),
        "bad-magic": (lambda s: s.sendall(frame(b"", magic=b"XIPC")), "DROPIPC_ERR_PROTO",
                      "recv args: bad magic 58 49 50 43"),
        "version-2": (lambda s: s.sendall(frame(envelope(child_args=good_args()), version=2)),
                      "DROPIPC_ERR_PROTO", "recv args: peer speaks protocol version 2, "
                      "this end speaks version 1"),
        "reserved": (lambda s: s.sendall(frame(b"", reserved=1)), "DROPIPC_ERR_PROTO",
                     "recv args: reserved header field is 0x1, not 0"),
        "nfds-17": (lambda s: s.sendall(frame(b"", nfds=17)), "DROPIPC_ERR_PROTO",
                    "recv args: header announces 17 fds, the maximum is 16"),
        "too-big": (lambda s: s.sendall(frame(b"", length=(1 << 20) + 1)), "DROPIPC_ERR_TOOBIG",
                    "recv args: payload of 1048577 bytes exceeds the limit of 1048576 bytes"),
        "fd-missing": (lambda s: s.sendall(frame(envelope(child_args=good_args()), nfds=1)),
                       "DROPIPC_ERR_PROTO", "recv args: header announces 1 fds, 0 arrived"),
        "fd-count": (with_fds(frame(envelope(child_args=good_args()), nfds=1), 2),
                     "DROPIPC_ERR_PROTO", "recv args: header announces 1 fds, 2 arrived"),
        "fd-late": (late_fd, "DROPIPC_ERR_PROTO", "recv args: 1 fds arrived at byte 16 of "
                    "the frame, not with its first byte"),
        "ctrunc": (with_fds(frame(b"", nfds=16), 17), "DROPIPC_ERR_PROTO",
                   "recv args: control data truncated after 16 fds: the peer sent more "
                   "than 16"),
        "truncated": (truncated, "DROPIPC_ERR_TRUNC",
                      "recv args: peer closed the connection after 19 bytes of the frame"),
        "not-protobuf": (lambda s: s.sendall(frame(b"\xff\xff\xff")), "DROPIPC_ERR_PROTO",
                         "recv args: payload is not a protobuf Envelope"),
        "no-body": (lambda s: s.sendall(frame(b"")), "DROPIPC_ERR_PROTO",
                    "recv args: envelope has no body"),
        "two-bodies": (lambda s: s.sendall(frame(field(1, args) + field(2, b""))),
                       "DROPIPC_ERR_PROTO", "recv args: envelope has 2 bodies, not 1"),
        "unknown-body": (lambda s: s.sendall(frame(field(9, b""))), "DROPIPC_ERR_UNSUPPORTED",
                         "recv args: unsupported message: envelope field 9 is not known "
                         "to protocol version 1"),
        "wrong-message": (with_fds(frame(envelope(pty=pb.PtyHandoff()), nfds=1), 1),
                          "DROPIPC_ERR_PROTO", "recv args: expected the child_args message, "
                          "got pty"),
        "error-to-child": (lambda s: s.sendall(frame(envelope(error=err))), "DROPIPC_ERR_PROTO",
                           "recv args: expected the child_args message, got error"),
        "unclaimed-fd": (with_fds(frame(field(1, args), nfds=1), 1), "DROPIPC_ERR_PROTO",
                         "recv args: fd index 0 claimed by no field"),
        "empty-pattern": (lambda s: s.sendall(frame(envelope(child_args=empty_pattern))),
                          "DROPIPC_ERR_INVALID", "recv args: config.environ.exposed_vars[%d]: empty"
                          % len(good_args().config.environ.exposed_vars)),
        "bad-port": (lambda s: s.sendall(frame(envelope(child_args=bad_port))), "DROPIPC_ERR_INVALID",
                     "recv args: config.net.tcp_published_ports[0].guest_port: 70000 is "
                     "not in 1..65535"),
        "nul-byte": (lambda s: s.sendall(frame(envelope(child_args=nul))), "DROPIPC_ERR_INVALID",
                     "recv args: env_id: NUL byte at byte 1"),
        "bad-utf8": (lambda s: s.sendall(frame(field(1, latin1))), "DROPIPC_ERR_INVALID",
                     "recv args: env_id: invalid UTF-8 at byte 3"),
        "nul-in-bytes": (lambda s: s.sendall(frame(envelope(child_args=nul_bytes))),
                         "DROPIPC_ERR_INVALID", "recv args: paths.cwd: NUL byte at byte 2"),
        "path-not-normalized": (lambda s: s.sendall(frame(envelope(child_args=bad_path))),
                                "DROPIPC_ERR_INVALID", "recv args: config.mounts[0].target: path is "
                                "not normalized: /etc/../usr"),
        "wrong-wire-type": (lambda s: s.sendall(frame(field(1, wrong_type))), "DROPIPC_ERR_PROTO",
                            "recv args: paths.cwd: wire type 0, expected 2"),
        "group-deep": (lambda s: s.sendall(frame(field(1, group))), "DROPIPC_ERR_PROTO",
                       "recv args: config.net: not valid protobuf: unsupported wire type "
                       "(groups)"),
    }


# The parent is gone (end-of-stream before or inside a frame): no child
# reports (docs/PROTOCOL.md "The handshake").
PARENT_GONE = {"eof", "truncated"}


def child_side(opts, lang):
    """A hostile parent: each frame makes the child fail with the right class,
    which the child reports back as a ChildError at stage args, "cannot use
    the arguments: " and the error without "recv args: "."""
    import dropipc
    _, child = programs(opts, lang)
    for name, (send, cls, msg) in child_cases().items():
        end, child_end = dropipc.new_parent_child_socket()
        cfd = child_end.fileno()
        proc = subprocess.Popen(child, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, pass_fds=(dropipc.CHILD_FD,),
                                preexec_fn=lambda: os.dup2(cfd, dropipc.CHILD_FD))
        child_end.close()
        send(end.conn.sock)
        end.settimeout(10)
        # Every report up to the end of the stream: at most one may come.
        reports = []
        while True:
            try:
                os.close(end.recv_pty())
                break
            except dropipc.ChildFailed as e:
                reports.append(e.child_error)
            except dropipc.IpcError:
                break
        end.close()
        out, err = proc.communicate(timeout=CMD_TIMEOUT)
        what = "%s child, %s" % (lang, name)
        check(proc.returncode != 0, what + ": the child fails", proc)
        check(msg.encode() in err, "%s: stderr says %r: %r" % (what, msg, err))
        if lang != "c":  # the demo child does not print the class
            check(("[%s]" % cls).encode() in err, "%s: stderr names %s: %r" % (what, cls, err))
        text = "cannot use the arguments: " + msg[len("recv args: "):]
        if name in PARENT_GONE:
            check(not reports, "%s: no report to a parent that is gone, got %r"
                  % (what, reports))
        else:
            # Also after a frame that broke the stream: the sending direction
            # is whole (docs/PROTOCOL.md "The handshake").
            check(len(reports) == 1 and reports[0].stage == 1 and reports[0].errno_value == 0
                  and text in reports[0].message,
                  "%s: the child reports %r at stage args with errno 0, once, got %r"
                  % (what, text, reports))
    print("ok: %s child: %d hostile frames refused with the right class and message"
          % (lang, len(child_cases())))


# Hostile children, run by the parent under test at a terminal (so that it
# expects a pty): name -> (class, message from the library or the peers,
# message from the demo).
PARENT_CASES = {
    "child-error": ("", "child setup failed at jail: mount /proc: Operation not permitted", None),
    # A report's text keeps newline and tab (dropipc_text_sanitize), but
    # every parent shows it on its one line: they become '?' there too.
    "multiline-error": ("", "child setup failed at jail: line one?line?two?[2J end\n", None),
    "not-pty": ("DROPIPC_ERR_NOTPTY", "recv pty: the fd sent as pty master is a pipe, not a pty "
                "master", None),
    "no-fd": ("DROPIPC_ERR_PROTO", "recv pty: expected 1 fd, got 0", None),
    "two-fds": ("DROPIPC_ERR_PROTO", "recv pty: expected 1 fd, got 2", None),
    "bad-index": ("DROPIPC_ERR_PROTO", "recv pty: master_fd: fd index 5 out of range (the frame "
                  "has 1 fds)", None),
    "args-to-parent": ("DROPIPC_ERR_PROTO", "recv pty: expected the pty message, got child_args",
                       None),
    "unknown-body": ("DROPIPC_ERR_UNSUPPORTED", "recv pty: unsupported message: envelope field 15 "
                     "is not known to protocol version 1", None),
    "eof": ("DROPIPC_ERR_OF", "recv pty: peer closed the connection",
            "the child closed the channel without sending the pty"),
    "timeout": ("DROPIPC_ERR_TIMEDOUT", "recv pty: waiting for a frame: timed out", "timed out"),
    # A child that was asked to confirm its exec (every parent asks) and
    # closed the channel after the pty without doing so: it died before exec.
    "no-confirm": ("DROPIPC_ERR_NOEXEC", "wait exec: the child closed the channel without "
                   "confirming its exec", None),
}

# The same without a terminal: the child sends no pty, the parent waits for
# the exec right after the arguments.
PARENT_CASES_NO_TTY = {
    "child-error": PARENT_CASES["child-error"],
    "multiline-error": PARENT_CASES["multiline-error"],
    "unasked-pty": ("DROPIPC_ERR_PROTO", "wait exec: expected the exec message, got pty", None),
    "timeout": ("DROPIPC_ERR_TIMEDOUT", "wait exec: waiting for a frame: timed out", "timed out"),
    "no-confirm": PARENT_CASES["no-confirm"],
}

# The demo runs a --child in another language that never confirms its exec
# as it runs its command (cmd/demo/demo.c, channel_step: "a child in another
# language may not confirm: its status tells"): it exits with the child's
# status and, with -v, says the child did not confirm.
NO_CONFIRM_STATUS = 7


def fakechild(case):
    """Runs as the child on fd 3: reads the arguments, then misbehaves."""
    import dropipc
    from dropipc import pb
    end = dropipc.ChildEnd()
    end.recv_child_args()
    s = end.conn.sock
    if case == "child-error":
        # A child that reports its failure exits (the demo waits for that).
        end.send_error(pb.ChildError.STAGE_JAIL, 1, "mount /proc: Operation not permitted")
        return
    elif case == "multiline-error":
        end.send_error(pb.ChildError.STAGE_JAIL, 1, "line one\nline\ttwo\x1b[2J end")
        return
    elif case in ("not-pty", "no-fd", "two-fds", "bad-index"):
        r, w = os.pipe()
        fds = {"not-pty": [r], "no-fd": [], "two-fds": list(os.openpty()),
               "bad-index": [os.openpty()[0]]}[case]
        pty = pb.PtyHandoff(master_fd=5 if case == "bad-index" else 0)
        sendfds(s, frame(envelope(pty=pty), nfds=len(fds)), fds)
    elif case == "args-to-parent":
        s.sendall(frame(envelope(child_args=good_args())))
    elif case == "unknown-body":
        s.sendall(frame(field(15, b"")))
    elif case == "timeout":
        time.sleep(CMD_TIMEOUT)
    elif case == "unasked-pty":
        end.send_pty(os.openpty()[0])
    elif case == "no-confirm":
        if any(os.isatty(fd) for fd in (0, 1, 2)):
            end.send_pty(os.openpty()[0])
        sys.exit(NO_CONFIRM_STATUS)
    # "eof": exit without a word. Otherwise wait for the parent to hang up.
    if case != "eof":
        s.settimeout(CMD_TIMEOUT)
        try:
            s.recv(1)
        except OSError:
            pass


def parent_side(opts, lang, tty):
    par, _ = programs(opts, lang)
    me = [PY, os.path.abspath(__file__), "fakechild"]
    cases = PARENT_CASES if tty else PARENT_CASES_NO_TTY
    for name, (cls, msg, demo_msg) in cases.items():
        timeout = 500 if name == "timeout" else 10000
        with tempfile.TemporaryDirectory() as tmp:
            extra = c_parent_options(tmp, False) + ["-v"] if lang == "c" else []
            p = run(par + extra + ["--timeout", str(timeout), "--child"] + me + [name, "--", "true"],
                    tty=tty)
        what = "%s parent%s, %s" % (lang, " at a terminal" if tty else "", name)
        if lang == "c" and name == "no-confirm":
            check(p.returncode == NO_CONFIRM_STATUS, what + ": the demo exits with the "
                  "child's status %d" % NO_CONFIRM_STATUS, p)
            check(b"the child closed the channel without confirming its exec" in p.stderr,
                  what + ": the demo says the child did not confirm", p)
            continue
        check(p.returncode == 125, what + ": the parent fails with 125", p)
        want = demo_msg if lang == "c" and demo_msg else msg
        check(want.encode() in p.stderr, "%s: stderr says %r" % (what, want), p)
        if cls and lang != "c":
            check(("[%s]" % cls).encode() in p.stderr, "%s: stderr names %s" % (what, cls), p)
    print("ok: %s parent%s: %d hostile children refused with the right class and message"
          % (lang, " at a terminal" if tty else "", len(cases)))


def handshake_with(child_argv, args, env):
    """Sends args to child_argv (started in /, the channel on fd 3) as a
    parent does; (the child's process result, the parent's IpcError or
    None)."""
    import dropipc
    end, child_end = dropipc.new_parent_child_socket()
    cfd = child_end.fileno()

    def to_fd3():
        os.dup2(cfd, dropipc.CHILD_FD)

    proc = subprocess.Popen(child_argv, pass_fds=(dropipc.CHILD_FD,), preexec_fn=to_fd3, cwd="/",
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env)
    child_end.close()
    end.settimeout(CMD_TIMEOUT)
    failure = None
    try:
        end.send_child_args(args)
        end.wait_exec()
    except dropipc.IpcError as e:
        failure = e
    end.close()
    out, err = proc.communicate(timeout=CMD_TIMEOUT)
    return subprocess.CompletedProcess(child_argv, proc.returncode, out, err), failure


def test_childenv(opts, child):
    """What a child does with paths.cwd and config.environ (PROTOCOL.md,
    "What a child does with ChildArgs" and question 4), seen by a parent
    that sends a working directory other than the child's own: the command
    runs in the Latin-1 paths.cwd; set_vars expand $VAR and ${VAR} from the
    child's environment, an empty value removes the variable, DROP_ENV is
    the env_id; with PATH removed there is no default PATH: a command
    without a slash is not found (STAGE_EXEC, ENOENT, before any exec). The
    C child runs with --no-jail (made-up paths)."""
    import errno
    from dropipc import pb
    _, ch = programs(opts, child, jail=False)
    with tempfile.TemporaryDirectory() as tmp:
        cwd = os.path.join(os.fsencode(tmp), LATIN1_DIR)
        os.mkdir(cwd)
        args = pb.ChildArgs(env_id="env-\u00e9", exec_args=[
            b"sh", b"-c", b'pwd; printf "%s\\n" "EXP=$EXP" "GONE=${GONE-unset}" '
            b'"DROP_ENV=$DROP_ENV"'])
        for f in args.paths.DESCRIPTOR.fields:
            setattr(args.paths, f.name, os.fsencode(tmp) + b"/made-up/" + f.name.encode())
        args.paths.cwd = cwd
        env = args.config.environ
        env.exposed_vars.extend([b"PATH", b"GONE"])
        env.set_vars.add(name=b"EXP", value=b"[$CONFORM_A|${CONFORM_A}x|$NOT_SET_X|$ 1]")
        env.set_vars.add(name=b"GONE", value=b"")
        args.config.net.mode = pb.Net.MODE_OFF
        host_env = dict(os.environ, CONFORM_A="a\u00e9", GONE="still-here")
        p, failure = handshake_with(ch, args, host_env)
        check(failure is None and p.returncode == 0, "%s child: the command ran (%s)"
              % (child, failure), p)
        out = p.stdout
        check(out.startswith(cwd + b"\n"), "%s child: the command runs in paths.cwd (Latin-1)"
              % child, p)
        check("EXP=[a\u00e9|a\u00e9x||$ 1]\n".encode() in out,
              "%s child: set_vars expand $VAR and ${VAR} from its environment" % child, p)
        check(b"GONE=unset\n" in out, "%s child: an empty set_vars value removes the variable"
              % child, p)
        check("DROP_ENV=env-\u00e9\n".encode() in out, "%s child: DROP_ENV is the env_id"
              % child, p)
        # No PATH in the new environment: no default either.
        env.set_vars.add(name=b"PATH", value=b"")
        del args.exec_args[:]
        args.exec_args.append(b"true")
        p, failure = handshake_with(ch, args, host_env)
        report = failure.child_error if failure is not None else None
        check(report is not None and report.stage == pb.ChildError.STAGE_EXEC
              and report.errno_value == errno.ENOENT,
              "%s child without PATH: 'true' is not found (stage exec, ENOENT): %s"
              % (child, failure), p)
        # An empty entry of PATH is the working directory (paths.cwd).
        script = os.path.join(cwd, b"conform-cmd")
        with open(script, "wb") as f:
            f.write(b"#!/bin/sh\necho found-through-the-empty-entry\n")
        os.chmod(script, 0o755)
        env.set_vars.add(name=b"PATH", value=b"/nonexistent-dir:")
        args.exec_args[:] = [b"conform-cmd"]
        p, failure = handshake_with(ch, args, host_env)
        check(failure is None and b"found-through-the-empty-entry" in p.stdout,
              "%s child: an empty PATH entry is the working directory (%s)" % (child, failure), p)
        # A file execve refuses (ENOEXEC) after the lookup: a report after
        # the exec confirmation, except from the C child, whose execve is of
        # /usr/bin/env (question 3): then env's execvp runs it with /bin/sh.
        with open(script, "wb") as f:
            f.write(b"\x7fELF\x00 not an executable")
        p, failure = handshake_with(ch, args, host_env)
        if child == "c":
            check(failure is None and p.returncode == 127,
                  "c child: the command's own ENOEXEC is env's: exit status 127 (%s)" % failure, p)
        else:
            report = failure.child_error if failure is not None else None
            check(report is not None and report.stage == pb.ChildError.STAGE_EXEC
                  and report.errno_value == errno.ENOEXEC,
                  "%s child: execve fails with ENOEXEC after the lookup: a report at stage exec "
                  "(%s)" % (child, failure), p)
    print("ok: %s child: paths.cwd, set_vars expansion and removal, DROP_ENV, no default PATH, "
          "an empty PATH entry, an exec failure after the lookup" % child)


def read_vectors(path):
    """The vectors of a .vec file (test/vectors/README.md) as dicts."""
    out, cur = [], None
    with open(path, "rb") as f:
        for line in f:
            line = line.rstrip(b"\n")
            if not line or line.startswith(b"#"):
                continue
            key, _, rest = line.partition(b" ")
            if key == b"vector":
                cur = {"name": rest.decode(), "fd": [], "frame": [], "dump": []}
            elif key == b"end":
                out.append(cur)
            elif key in (b"fd", b"frame", b"dump"):
                cur[key.decode()].append(rest)
            else:
                cur[key.decode()] = rest.decode()
    return out


def vector_fd(kind, keep):
    """A new fd of a vector's fd TYPE; keep gets what must stay open."""
    if kind == b"pipe":
        r, w = os.pipe()
        keep.append(w)
        return r
    if kind == b"pty_master":
        master, slave = os.openpty()
        keep.append(slave)
        return master
    if kind == b"regular":
        return os.open(__file__, os.O_RDONLY)
    a, b = socket.socketpair()
    keep.append(b.detach())
    return a.detach()


def test_vectors(opts, child):
    """The conformance vectors a child receives (receiver child, call args)
    sent to the child PROGRAM on its fd 3, as a peer in another language
    runs them: `expect ok` is the dump (DROPIPC_DUMP_ARGS) of the vector;
    an error is one `error` frame back, stage STAGE_ARGS, errno 0, except
    end of stream and truncation (the parent is gone: no report)."""
    import dropipc
    from dropipc import pb
    _, ch = programs(opts, child, jail=False)
    vdir = os.path.join(HERE, "..", "vectors")
    n = 0
    for name in sorted(os.listdir(vdir)):
        if not name.endswith(".vec"):
            continue
        for v in read_vectors(os.path.join(vdir, name)):
            if v["receiver"] != "child" or v["call"] != "args":
                continue
            what = "%s child, %s:%s" % (child, name, v["name"])
            with tempfile.TemporaryDirectory() as tmp:
                dump = os.path.join(tmp, "args")
                ps, cs = socket.socketpair()
                proc = subprocess.Popen(
                    ch, pass_fds=(3,), preexec_fn=lambda: os.dup2(cs.fileno(), 3), cwd=tmp,
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                    env=dict(os.environ, DROPIPC_DUMP_ARGS=dump, PATH="/usr/bin:/bin"))
                cs.close()
                keep = []
                fds = [vector_fd(t, keep) for t in v["fd"]]
                try:
                    for i, f in enumerate(v["frame"]):
                        data = bytes.fromhex(f.decode().replace(" ", ""))
                        sendfds(ps, data, fds if i == 0 else [])
                    ps.shutdown(socket.SHUT_WR)
                except OSError:
                    pass  # the child gave up on the frame first
                for fd in fds + keep:
                    os.close(fd)
                end = dropipc.ParentEnd(ps)
                end.settimeout(CMD_TIMEOUT)
                replies = []
                while True:
                    try:
                        end.wait_exec()
                        replies.append("exec")
                        break
                    except dropipc.IpcError as e:
                        if e.name == "DROPIPC_ERR_CHILD":
                            replies.append(e.child_error)
                        elif e.name != "DROPIPC_ERR_NOEXEC":
                            replies.append(e.name)
                        break
                end.close()
                out, err = proc.communicate(timeout=CMD_TIMEOUT)
                p = subprocess.CompletedProcess(ch, proc.returncode, out, err)
                cls = v["expect"].split()[-1]
                if cls == "ok":
                    with open(dump, "rb") as f:
                        got = f.read().splitlines()
                    check(got == v["dump"], "%s: the dump is the vector's:\n%r\n---\n%r"
                          % (what, got, v["dump"]), p)
                elif cls in ("eof", "truncated"):
                    check(replies == [], "%s: no report when the parent is gone: %r"
                          % (what, replies), p)
                else:
                    r = replies[0] if len(replies) == 1 else None
                    check(isinstance(r, pb.ChildError) and r.stage == pb.ChildError.STAGE_ARGS
                          and r.errno_value == 0, "%s (%s): one report, stage args, errno 0: %r"
                          % (what, cls, replies), p)
            n += 1
    print("ok: %s child: %d conformance vectors through the program" % (child, n))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work")
    ap.add_argument("--demo")
    ap.add_argument("test")
    ap.add_argument("args", nargs="*")
    opts = ap.parse_args()
    if opts.test == "fakechild":
        setup_env(None)
        fakechild(opts.args[0])
        return
    setup_env(opts.work)
    if opts.test == "pair":
        test_pair(opts, *opts.args)
    elif opts.test == "childerr":
        test_childerr(opts, *opts.args)
    elif opts.test == "vectors":
        test_vectors(opts, *opts.args)
    elif opts.test == "childenv":
        test_childenv(opts, *opts.args)
    elif opts.test == "shell":
        test_shell(opts, *opts.args)
    elif opts.test == "limits":
        child_side(opts, opts.args[0])
        parent_side(opts, opts.args[0], tty=True)
        parent_side(opts, opts.args[0], tty=False)
    elif opts.test == "jail":
        test_jail(opts)
    else:
        ap.error("unknown test " + opts.test)


if __name__ == "__main__":
    main()
