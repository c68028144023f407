# SPDX-License-Identifier: Apache-2.0 OR MIT
"""OS strings: every path, argument, environment name, value and pattern of
the schema is `bytes` (Linux's own), passed unchanged: a Latin-1 directory
or an argument b'\\xff'. The messages hold bytes; these helpers take and
give `str` too, through os.fsencode and os.fsdecode (surrogateescape), so
that a str from os.listdir() or sys.argv round-trips to the same bytes."""
import os
from typing import Any, Dict, Mapping, Union

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message

from .v1 import dropipc_pb2 as pb

OSString = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


def _encode(desc: Descriptor, fields: Mapping[str, Any]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for name, value in fields.items():
        f = desc.fields_by_name.get(name)
        if f is None:
            raise TypeError("%s has no field %r" % (desc.name, name))
        if f.type == FieldDescriptor.TYPE_BYTES:
            if f.label == f.LABEL_REPEATED:
                value = [os.fsencode(v) for v in value]
            else:
                value = os.fsencode(value)
        elif f.type == FieldDescriptor.TYPE_MESSAGE and isinstance(value, Mapping):
            value = _encode(f.message_type, value)
        elif (f.type == FieldDescriptor.TYPE_MESSAGE and f.label == f.LABEL_REPEATED):
            value = [_encode(f.message_type, v) if isinstance(v, Mapping) else v for v in value]
        out[name] = value
    return out


def child_args(**fields: Any) -> pb.ChildArgs:
    """A ChildArgs from keyword arguments shaped like the schema, as the
    message's own constructor takes them (nested messages as dicts), where
    each bytes field may also be a str or a path: os.fsencode makes it
    bytes.

        child_args(env_id="dev", exec_args=["grep", b"\\xff", "f"],
                   paths={"cwd": os.getcwd()}, config={"net": {"mode": 1}})
    """
    return pb.ChildArgs(**_encode(pb.ChildArgs.DESCRIPTOR, fields))


def decode(msg: Message) -> Dict[str, Any]:
    """The message's fields as a dict (set fields only, nested messages as
    dicts, enums as numbers) with every bytes field as str through
    os.fsdecode: os.fsencode gives the bytes back exactly."""
    out: Dict[str, Any] = {}
    for f, value in msg.ListFields():
        if f.type == FieldDescriptor.TYPE_BYTES:
            value = [os.fsdecode(v) for v in value] if f.label == f.LABEL_REPEATED \
                else os.fsdecode(value)
        elif f.type == FieldDescriptor.TYPE_MESSAGE:
            value = [decode(v) for v in value] if f.label == f.LABEL_REPEATED else decode(value)
        elif f.label == f.LABEL_REPEATED:
            value = list(value)
        out[f.name] = value
    return out
