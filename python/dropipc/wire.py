# SPDX-License-Identifier: Apache-2.0 OR MIT
"""The protobuf wire format, read directly as lib/wire.c does: the
envelope's body without unpacking the envelope, and the walk that refuses
what protobuf's own parser would let through (groups, a known field of the
wrong wire type, at every depth) or turn into an unnamed error (a string
that is not UTF-8 or holds a NUL)."""
from typing import Dict, Iterator, List, Optional, Tuple

from google.protobuf.descriptor import Descriptor, FieldDescriptor

from .errors import error
from .text import utf8_decode, valid_utf8
from .v1 import dropipc_pb2 as pb

VERSION = 1
# The schema is 4 levels deep; deeper nesting is not ours to walk.
MAX_DEPTH = 8

WT_VARINT, WT_I64, WT_LEN, WT_I32 = 0, 1, 2, 5

Field = Tuple[int, int, Optional[bytes]]


class Malformed(ValueError):
    """Bytes that are not protobuf: why and where (the offset)."""

    def __init__(self, why: str, at: int) -> None:
        super().__init__(why, at)
        self.why = why
        self.at = at


def varint(data: bytes, i: int) -> Tuple[int, int]:
    """The varint at data[i]: (value, index after it)."""
    x = shift = 0
    while i < len(data) and shift < 64:
        b = data[i]
        i += 1
        x |= (b & 0x7F) << shift
        if not b & 0x80:
            return x, i
        shift += 7
    raise Malformed("truncated varint", i)


def fields(data: bytes) -> Iterator[Field]:
    """Yields (number, wire type, bytes for WT_LEN else None) of each field;
    raises Malformed (groups are refused)."""
    i = 0
    while i < len(data):
        try:
            tag, i = varint(data, i)
        except Malformed as e:
            raise Malformed("truncated tag", e.at) from None
        number, wt = tag >> 3, tag & 7
        if number == 0 or number > 0x1FFFFFFF:
            raise Malformed("invalid field number", i)
        if wt == WT_VARINT:
            _, i = varint(data, i)
            yield number, wt, None
        elif wt in (WT_I64, WT_I32):
            n = 8 if wt == WT_I64 else 4
            if len(data) - i < n:
                raise Malformed("truncated fixed-size field", i)
            i += n
            yield number, wt, None
        elif wt == WT_LEN:
            try:
                n, i = varint(data, i)
            except Malformed as e:
                raise Malformed("length runs past the end", e.at) from None
            if n > len(data) - i:
                raise Malformed("length runs past the end", i)
            yield number, wt, data[i:i + n]
            i += n
        else:
            raise Malformed("unsupported wire type (groups)", i)


def envelope_body(payload: bytes) -> Tuple[str, bytes]:
    """The envelope's one body as (field name, bytes); raises IpcError."""
    known = pb.Envelope.DESCRIPTOR.fields_by_number
    bodies: List[Tuple[str, bytes]] = []
    unknown = 0
    try:
        for number, wt, data in fields(payload):
            if number not in known:
                unknown = unknown or number
                continue
            if wt != WT_LEN or data is None:
                raise error("DROPIPC_ERR_PROTO",
                            "envelope field %d has wire type %d, not 2" % (number, wt))
            bodies.append((known[number].name, data))
    except Malformed as e:
        raise error("DROPIPC_ERR_PROTO", "payload is not a protobuf Envelope: %s at byte %d"
                    % (e.why, e.at)) from None
    if len(bodies) > 1:
        raise error("DROPIPC_ERR_PROTO", "envelope has %d bodies, not 1" % len(bodies))
    if not bodies and unknown:
        raise error("DROPIPC_ERR_UNSUPPORTED", "unsupported message: envelope field %d is not "
                    "known to protocol version %d" % (unknown, VERSION))
    if not bodies:
        raise error("DROPIPC_ERR_PROTO", "envelope has no body")
    return bodies[0]


_FIXED32 = (FieldDescriptor.TYPE_FIXED32, FieldDescriptor.TYPE_SFIXED32,
            FieldDescriptor.TYPE_FLOAT)
_FIXED64 = (FieldDescriptor.TYPE_FIXED64, FieldDescriptor.TYPE_SFIXED64,
            FieldDescriptor.TYPE_DOUBLE)
_LEN = (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES, FieldDescriptor.TYPE_MESSAGE)


def wire_type_of(f: FieldDescriptor) -> int:
    """The wire type a field of this type is sent with (numbers unpacked)."""
    if f.type in _FIXED32:
        return WT_I32
    if f.type in _FIXED64:
        return WT_I64
    return WT_LEN if f.type in _LEN else WT_VARINT


def bad_string_byte(s: bytes) -> Tuple[int, bool]:
    """(offset, is NUL) of the first NUL or invalid UTF-8 byte, or (-1, False)."""
    # The common case in C: Python's strict UTF-8 refuses what
    # utf8_decode() does (overlong forms, surrogates, past U+10FFFF).
    if b"\0" not in s:
        try:
            s.decode("utf-8")
            return -1, False
        except UnicodeDecodeError:
            pass
    i = 0
    while i < len(s):
        if s[i] == 0:
            return i, True
        _, n = utf8_decode(s, i)
        if n == 0:
            return i, False
        i += n
    return -1, False


_CUSTOM = pb.Custom.DESCRIPTOR
_CHILD_ERROR = pb.ChildError.DESCRIPTOR


def _path(trail: List[str]) -> str:
    return ".".join(trail)


def _check(desc: Descriptor, data: bytes, trail: List[str]) -> None:
    if len(trail) > MAX_DEPTH:
        raise error("DROPIPC_ERR_PROTO", "%s: nested too deeply" % _path(trail))
    seen: Dict[int, int] = {}
    try:
        for number, wt, chunk in fields(data):
            f = desc.fields_by_number.get(number)
            if f is None:
                continue
            # A number may also come packed (WT_LEN) when repeated.
            if wt != wire_type_of(f) and not (wt == WT_LEN and f.label == f.LABEL_REPEATED):
                raise error("DROPIPC_ERR_PROTO", "%s: wire type %d, expected %d"
                            % (_path(trail + [f.name]), wt, wire_type_of(f)))
            if chunk is None or f.type not in (f.TYPE_STRING, f.TYPE_MESSAGE, f.TYPE_BYTES):
                continue
            name = f.name
            if f.label == f.LABEL_REPEATED:
                k = seen[number] = seen.get(number, -1) + 1
                name = "%s[%d]" % (f.name, k)
            if f.type == f.TYPE_MESSAGE:
                _check(f.message_type, chunk, trail + [name])
                continue
            if f.type == f.TYPE_BYTES or (desc is _CHILD_ERROR and f.name == "message"):
                # OS strings: any byte but NUL, which a C string cannot hold.
                # Custom's data is the launcher's: any bytes. A report's
                # text may quote an OS string: not refused when it is not
                # UTF-8, only sanitized by the receiver (report_text).
                if desc is not _CUSTOM and b"\0" in chunk:
                    raise error("DROPIPC_ERR_INVALID", "%s: NUL byte at byte %d"
                                % (_path(trail + [name]), chunk.index(b"\0")))
                continue
            at, nul = bad_string_byte(chunk)
            if at >= 0:
                raise error("DROPIPC_ERR_INVALID", "%s: %s at byte %d"
                            % (_path(trail + [name]), "NUL byte" if nul else "invalid UTF-8",
                               at))
    except Malformed as e:
        raise error("DROPIPC_ERR_PROTO", "%s%snot valid protobuf: %s"
                    % (_path(trail), ": " if trail else "", e.why)) from None


def check(desc: Descriptor, data: bytes) -> None:
    """Raises IpcError for what lib/wire.c refuses in a body's bytes: a group
    or a known field of the wrong wire type at any depth (DROPIPC_ERR_PROTO),
    a string with a NUL or invalid UTF-8, or an OS string (bytes, but
    Custom's data) with a NUL (DROPIPC_ERR_INVALID), each named."""
    _check(desc, data, [])


def report_text(data: bytes) -> bytes:
    """A ChildError's bytes (checked) with its message made valid UTF-8, each
    byte that is not as '?' (as the sanitizer would make it), so that
    protobuf parses it: the message is the receiver's to sanitize, not to
    refuse."""
    out = bytearray()
    for number, wt, chunk in fields(data):
        if number == 3 and wt == WT_LEN and chunk is not None:
            text = valid_utf8(chunk).encode("utf-8")
            n = len(text)
            out.append(3 << 3 | WT_LEN)
            while n >= 0x80:
                out.append(n & 0x7F | 0x80)
                n >>= 7
            out.append(n)
            out += text
    # The other fields as they came (protobuf keeps the last of each).
    kept = bytearray()
    i = 0
    while i < len(data):
        start = i
        tag, i = varint(data, i)
        wt = tag & 7
        if wt == WT_VARINT:
            _, i = varint(data, i)
        elif wt in (WT_I64, WT_I32):
            i += 8 if wt == WT_I64 else 4
        else:
            n, i = varint(data, i)
            i += n
        if not (tag >> 3 == 3 and wt == WT_LEN):
            kept += data[start:i]
    return bytes(kept + out)
