# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Validation of ChildArgs, the rules of lib/validate.c: the sender checks
before sending, the receiver before handing the message over. Each failure
raises InvalidMessage (DROPIPC_ERR_INVALID) naming the field, e.g.
"config.net.tcp_published_ports[1].guest_port: 70000 is not in 1..65535"."""
import ipaddress
from typing import Iterator, List, NoReturn, Tuple, Union

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from .errors import error
from .text import sanitize
from .v1 import dropipc_pb2 as pb
from .wire import bad_string_byte

Port = Union[pb.PublishedPort, pb.HostPort]


def _fail(msg: str) -> NoReturn:
    raise error("DROPIPC_ERR_INVALID", msg)


def show(b: bytes) -> str:
    """An OS string for an error message: bytes that are not UTF-8 and
    control characters as '?'."""
    return sanitize(b).decode("utf-8")


def _number(f: FieldDescriptor) -> int:
    return int(f.number)


def leaves(msg: Message, prefix: str = "") -> Iterator[Tuple[str, FieldDescriptor, object]]:
    """Yields (path, field, value) of every scalar of msg, in dump order:
    field numbers, depth first, absent submessages left out."""
    by_number: List[FieldDescriptor] = list(msg.DESCRIPTOR.fields)
    by_number.sort(key=_number)
    for f in by_number:
        path = prefix + f.name
        value = getattr(msg, f.name)
        is_msg = f.type == FieldDescriptor.TYPE_MESSAGE
        if f.label == FieldDescriptor.LABEL_REPEATED:
            for i, e in enumerate(value):
                if is_msg:
                    yield from leaves(e, "%s[%d]." % (path, i))
                else:
                    yield "%s[%d]" % (path, i), f, e
        elif is_msg:
            if msg.HasField(f.name):
                yield from leaves(value, path + ".")
        else:
            yield path, f, value


def check_path(what: str, p: bytes) -> None:
    """A mount source or target, or a blocked path: "~", or "/" or "~/"
    and then components, none empty, "." or "..", and no trailing "/"
    ("/" itself aside). As Drop's config check."""
    if not p:
        _fail("%s: empty" % what)
    if p == b"~" or p == b"/":
        return
    if p.startswith(b"/"):
        rest = p[1:]
    elif p.startswith(b"~/"):
        rest = p[2:]
    else:
        _fail("%s: path must start with / or ~/: %s" % (what, show(p)))
    if any(c in (b"", b".", b"..") for c in rest.split(b"/")):
        _fail("%s: path is not normalized: %s" % (what, show(p)))


def _check_port(lst: str, i: int, name: str, port: int) -> None:
    if not 1 <= port <= 65535:
        _fail("config.net.%s[%d].%s: %d is not in 1..65535" % (lst, i, name, port))


def _check_auto(lst: str, i: int, p: Port) -> None:
    """Drop's auto: every port, so no port and no address."""
    if isinstance(p, pb.PublishedPort) and p.host_ip:
        _fail("config.net.%s[%d].host_ip: set with auto" % (lst, i))
    for name in ("host_port", "guest_port"):
        if getattr(p, name):
            _fail("config.net.%s[%d].%s: %d set with auto" % (lst, i, name, getattr(p, name)))


def _is_ip(s: str) -> bool:
    try:
        ipaddress.ip_address(s)
    except ValueError:
        return False
    return "%" not in s


def _check_net(net: pb.Net) -> None:
    if net.mode not in (1, 2, 3):
        _fail("config.net.mode: %d is not a known mode" % net.mode)
    lists = ("tcp_published_ports", "udp_published_ports", "tcp_host_ports", "udp_host_ports")
    for lst in lists:
        for i, p in enumerate(getattr(net, lst)):
            if p.auto:
                _check_auto(lst, i, p)
                continue
            _check_port(lst, i, "host_port", p.host_port)
            _check_port(lst, i, "guest_port", p.guest_port)
            if isinstance(p, pb.PublishedPort) and p.host_ip and not _is_ip(p.host_ip):
                _fail("config.net.%s[%d].host_ip: \"%s\" is not an IP address"
                      % (lst, i, p.host_ip))


def _check_config(cfg: pb.Config) -> None:
    for i, m in enumerate(cfg.mounts):
        for name in ("source", "target"):
            what = "config.mounts[%d].%s" % (i, name)
            if not getattr(m, name):
                _fail(what + ": empty")
            check_path(what, getattr(m, name))
    for i, b in enumerate(cfg.blocked_paths):
        if not b:
            _fail("config.blocked_paths[%d]: empty" % i)
        check_path("config.blocked_paths[%d]" % i, b)
    for i, v in enumerate(cfg.environ.exposed_vars):
        if not v:
            _fail("config.environ.exposed_vars[%d]: empty" % i)
    for i, s in enumerate(cfg.environ.set_vars):
        if not s.name:
            _fail("config.environ.set_vars[%d].name: empty" % i)
        if b"=" in s.name:
            # The name is bytes, not text: the message gives where, not what.
            _fail("config.environ.set_vars[%d].name: '=' at byte %d" % (i, s.name.index(b"=")))
    if not cfg.HasField("net"):
        _fail("config.net: missing")
    _check_net(cfg.net)


def _check_strings(args: pb.ChildArgs) -> None:
    """No NUL in any string or bytes field (a C string cannot hold one), and
    strings (text for people) are UTF-8."""
    for path, f, v in leaves(args):
        if f.type == FieldDescriptor.TYPE_BYTES and isinstance(v, bytes) and b"\0" in v:
            _fail("%s: NUL byte at byte %d" % (path, v.index(b"\0")))
        if f.type == FieldDescriptor.TYPE_STRING and isinstance(v, str):
            at, nul = bad_string_byte(v.encode("utf-8", "surrogatepass"))
            if at >= 0:
                _fail("%s: %s at byte %d"
                      % (path, "NUL byte" if nul else "invalid UTF-8", at))


def validate(args: pb.ChildArgs) -> None:
    """Raises InvalidMessage naming the first field that is wrong."""
    if not args.env_id:
        _fail("env_id: empty")
    if not args.HasField("paths"):
        _fail("paths: missing")
    # No exec_args: the child runs the user's shell, as Drop does.
    if args.pty not in (pb.PTY_AUTO, pb.PTY_ALWAYS, pb.PTY_NEVER):
        _fail("pty: %d is not a known mode" % args.pty)
    if not args.HasField("config"):
        _fail("config: missing")
    _check_config(args.config)
    _check_strings(args)
