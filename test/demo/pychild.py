#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0 OR MIT
"""A child for dropipc-demo --child, in Python with no protobuf library.

It speaks the protocol by hand (docs/PROTOCOL.md): reads the ChildArgs frame
on fd 3, digs exec_args out of the protobuf wire format, creates a pty (at a
terminal only, as Drop), sends its master back as SCM_RIGHTS with a PtyHandoff frame, and execs the
command on the pty. It shows that the channel is a protocol, not a C API.
"""
import array
import fcntl
import os
import socket
import struct
import sys
import termios

HEADER = struct.Struct("<4sHHII")


def recv_exact(sock, n):
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            sys.exit("pychild: the parent closed the channel")
        buf += chunk
    return buf


def varint(data, i):
    value = shift = 0
    while True:
        b = data[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return value, i


def fields(data):
    """Yields (number, wire type, value) for each field of a message."""
    i = 0
    while i < len(data):
        key, i = varint(data, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            value, i = varint(data, i)
        elif wt == 2:
            n, i = varint(data, i)
            value, i = data[i:i + n], i + n
        elif wt == 1:
            value, i = data[i:i + 8], i + 8
        elif wt == 5:
            value, i = data[i:i + 4], i + 4
        else:
            sys.exit("pychild: bad wire type %d" % wt)
        yield num, wt, value


def frame(payload, fds=()):
    return HEADER.pack(b"DIPC", 1, len(fds), len(payload), 0) + payload


def main():
    sock = socket.socket(fileno=3)
    os.set_inheritable(3, False)
    magic, version, nfds, length, reserved = HEADER.unpack(recv_exact(sock, HEADER.size))
    if magic != b"DIPC" or version != 1 or nfds != 0 or reserved != 0:
        sys.exit("pychild: bad frame header")
    envelope = recv_exact(sock, length)
    args = [v for n, wt, v in fields(envelope) if n == 1 and wt == 2]
    if not args:
        sys.exit("pychild: expected child_args")
    cmd = [v.decode() for n, wt, v in fields(args[0]) if n == 4 and wt == 2]
    if not cmd:
        sys.exit("pychild: no exec_args")

    # As Drop: a pty only at a terminal; otherwise fds 0-2 are the parent's
    # pipes and no pty frame is sent.
    if any(os.isatty(fd) for fd in (0, 1, 2)):
        master, slave = os.openpty()
        # Envelope{pty: PtyHandoff{}}: field 2, length 0.
        sock.sendmsg([frame(b"\x12\x00", [master])],
                     [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [master]))])
        os.close(master)
        if os.getsid(0) != os.getpid():
            os.setsid()
        fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
        for fd in (0, 1, 2):
            os.dup2(slave, fd)
        os.close(slave)
    sock.detach()
    os.execvp(cmd[0], cmd)


main()
