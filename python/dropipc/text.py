# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Text from the sandbox, as lib/text.c has it: the one sanitizer, and cuts
that never split a UTF-8 character."""
from typing import Tuple, TypeVar, Union

T = TypeVar("T", str, bytes)


def utf8_decode(s: bytes, i: int) -> Tuple[int, int]:
    """(code point, length) of the valid UTF-8 character at s[i], or
    (0, 0): not one (overlong forms, surrogates, past U+10FFFF, cut short)."""
    b = s[i]
    if b < 0x80:
        return b, 1
    if 0xC2 <= b <= 0xDF:
        n, c = 2, b & 0x1F
    elif 0xE0 <= b <= 0xEF:
        n, c = 3, b & 0x0F
    elif 0xF0 <= b <= 0xF4:
        n, c = 4, b & 0x07
    else:
        return 0, 0
    if len(s) - i < n:
        return 0, 0
    for k in range(1, n):
        if s[i + k] & 0xC0 != 0x80:
            return 0, 0
        c = c << 6 | (s[i + k] & 0x3F)
    if (n == 3 and c < 0x800) or (n == 4 and (c < 0x10000 or c > 0x10FFFF)) or \
            0xD800 <= c <= 0xDFFF:
        return 0, 0
    return c, n


def _is_control(cp: int) -> bool:
    return (cp < 0x20 and cp not in (0x0A, 0x09)) or 0x7F <= cp <= 0x9F


def _sanitize_bytes(s: bytes) -> bytes:
    out = bytearray()
    i = 0
    while i < len(s):
        cp, n = utf8_decode(s, i)
        if n == 0 or _is_control(cp):
            out += b"?"
            i += n or 1
            continue
        out += s[i:i + n]
        i += n
    return bytes(out)


def sanitize(text: T) -> T:
    """text made safe for a terminal, as dropipc_text_sanitize(): every byte
    that is not part of valid UTF-8, and every control character (C0 but
    newline and tab, DEL, C1), becomes one '?'. A str is taken as
    os.fsencode would give it (a byte that surrogateescape kept is a byte)."""
    if isinstance(text, bytes):
        return _sanitize_bytes(text)
    return _sanitize_bytes(_fsbytes(text)).decode("utf-8")


def _fsbytes(text: str) -> bytes:
    """text's bytes as os.fsencode gives them (other lone surrogates, not
    UTF-8 either, as their UTF-8 form)."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def utf8_cut(s: bytes, limit: int) -> bytes:
    """s cut to at most limit bytes, not inside a UTF-8 character."""
    if len(s) <= limit:
        return s
    cut, back = limit, 0
    while cut > 0 and back < 3 and s[cut] & 0xC0 == 0x80:
        cut -= 1
        back += 1
    return s[:limit] if s[cut] & 0xC0 == 0x80 else s[:cut]


def valid_utf8(text: Union[str, bytes]) -> str:
    """text as valid UTF-8 for a protobuf string: each byte that is not part
    of valid UTF-8 becomes '?' (a str is taken as os.fsencode gives it);
    the rest, control characters included, stays."""
    raw = _fsbytes(text) if isinstance(text, str) else text
    out = bytearray()
    i = 0
    while i < len(raw):
        _, n = utf8_decode(raw, i)
        out += raw[i:i + n] if n else b"?"
        i += n or 1
    return out.decode("utf-8")
