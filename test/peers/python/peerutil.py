# SPDX-License-Identifier: Apache-2.0 OR MIT
"""What the Python peer program and the tests share, without the dropipc
package (so that a newer schema's module can be used with it too): the
example ChildArgs and the dump format (cmd/demo/dump.h)."""
import os

from google.protobuf import descriptor as _desc

HOME = "/home/alice/.local/share/drop"


def example_args(pb, command, cwd=None):
    """Every field of the schema set, most to non-default values; pb is the
    generated module (the installed schema's, or a newer one). command: the
    exec_args (str or bytes each); cwd: paths.cwd (str or bytes; default a
    made-up one). OS strings go in through os.fsencode: bytes pass as they
    are."""
    fs = os.fsencode
    a = pb.ChildArgs(env_id="test-env", exec_args=[fs(c) for c in command])
    p = a.paths
    p.cwd = fs(cwd if cwd is not None else HOME + "/cwd")
    p.drop_home = fs(HOME)
    p.env = fs(HOME + "/envs/test-env")
    p.fs_root = fs(HOME + "/internal/run/test-env/root")
    p.host_home = b"/home/alice"
    p.home = fs(HOME + "/envs/test-env/home")
    p.etc = fs(HOME + "/envs/test-env/etc")
    p.var = fs(HOME + "/envs/test-env/var")
    p.tmp = fs(HOME + "/internal/run/test-env/tmp")
    p.run = fs(HOME + "/internal/run/test-env")
    p.empty_dir = fs(HOME + "/internal/emptydir")
    p.empty_file = fs(HOME + "/internal/emptyfile")
    c = a.config
    c.extends = "base"
    c.mounts.add(source=b"~/docs", target=b"~/docs", rw=False, overlay=True)
    c.mounts.add(source=b"~/projects", target=b"~/projects", rw=True, overlay=True)
    c.blocked_paths.extend([b"/root", b"/mnt"])
    c.environ.exposed_vars.extend([b"PATH", b"HOME", b"LC_*"])
    c.environ.set_vars.add(name=b"FOO", value=b"bar")
    c.environ.set_vars.add(name=b"ODD", value="tab\there \\ nl\n del\x7f caf\u00e9".encode())
    c.environ.set_vars.add(name=b"LATIN1", value=b"caf\xe9 \xff")
    n = c.net
    n.mode = pb.Net.MODE_ISOLATED
    n.tcp_published_ports.add(host_port=8080, guest_port=3000)
    n.tcp_published_ports.add(host_ip="127.0.0.1", host_port=8082, guest_port=3003)
    # Drop's default: every port (host_ip empty, both ports 0).
    n.udp_published_ports.add(auto=True)
    n.tcp_host_ports.add(host_port=5432, guest_port=15432)
    n.udp_host_ports.add(auto=True)
    a.pty = pb.PTY_AUTO
    a.term_size.rows, a.term_size.cols = 24, 80
    a.term_size.x_pixels, a.term_size.y_pixels = 640, 480
    return a


def _escape(s):
    """The dump's escapes, of a string's UTF-8 or of bytes as they are."""
    out = bytearray()
    for b in s.encode("utf-8") if isinstance(s, str) else s:
        if b == 0x5C:
            out += b"\\\\"
        elif b == 0x0A:
            out += b"\\n"
        elif b < 0x20 or b == 0x7F:
            out += b"\\x%02x" % b
        else:
            out.append(b)
    return bytes(out)


def _scalar(field, value):
    if field.type == _desc.FieldDescriptor.TYPE_BOOL:
        return b"true" if value else b"false"
    if field.type in (_desc.FieldDescriptor.TYPE_STRING, _desc.FieldDescriptor.TYPE_BYTES):
        return _escape(value)
    return str(int(value)).encode()


def _leaves(msg, prefix):
    """Yields (path, field, value) of every scalar of msg, in dump order."""
    for f in sorted(msg.DESCRIPTOR.fields, key=lambda f: f.number):
        if not prefix and f.name == "confirm_exec":
            continue  # the ends set it, not the caller: not in the dump
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
            # A term_size of all 0 means what an absent one means: absent.
            if msg.HasField(f.name) and not (f.name == "term_size" and not value.ListFields()):
                yield from _leaves(value, path + ".")
        else:
            yield path, f, value


def dump(msg):
    """The dump format (docs/PROTOCOL.md): one line per scalar, as bytes;
    confirm_exec is not written."""
    return b"".join(p.encode() + b"=" + _scalar(f, v) + b"\n" for p, f, v in _leaves(msg, ""))


def write_dump_env(var, msg):
    path = os.environ.get(var)
    if path:
        with open(path, "wb") as f:
            f.write(dump(msg))
