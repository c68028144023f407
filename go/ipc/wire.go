// SPDX-License-Identifier: Apache-2.0 OR MIT

package ipc

import (
	"fmt"
	"strings"

	pb "github.com/libdropipc/libdropipc/go/dropipcv1"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// maxDepth bounds the nesting of messages a receiver walks, as the C
// library's (lib/wire.c).
const maxDepth = 8

var (
	customDesc     = (&pb.Custom{}).ProtoReflect().Descriptor()
	childErrorDesc = (&pb.ChildError{}).ProtoReflect().Descriptor()
)

// isReportText says whether fd of md is a report's text: the one string a
// receiver takes whatever its bytes (but NUL), to sanitize it.
func isReportText(md protoreflect.MessageDescriptor, fd protoreflect.FieldDescriptor) bool {
	return md.FullName() == childErrorDesc.FullName() && fd.Name() == "message"
}

// wireType is the wire type a field of this kind is sent with (numbers
// unpacked).
func wireType(fd protoreflect.FieldDescriptor) protowire.Type {
	switch fd.Kind() {
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind, protoreflect.FloatKind:
		return protowire.Fixed32Type
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind, protoreflect.DoubleKind:
		return protowire.Fixed64Type
	case protoreflect.StringKind, protoreflect.BytesKind, protoreflect.MessageKind,
		protoreflect.GroupKind:
		return protowire.BytesType
	}
	return protowire.VarintType
}

// wireCheck walks a message's bytes before they are unmarshalled, as the C
// library does (the Go library accepts what C refuses): a group wire type
// (3, 4) anywhere, or a known field of the wrong wire type at any depth,
// is a protocol error (ErrProto); a NUL byte in a bytes field (an OS
// string; Custom's data is any bytes) or a NUL or invalid UTF-8 in a
// string field is ErrInvalid (a report's text may be any bytes but NUL:
// it is sanitized). The error names the field
// ("config.mounts[0].rw: wire type 2, expected 0"). What it returns is the
// Name and the text.
func wireCheck(md protoreflect.MessageDescriptor, b []byte) (string, string) {
	return checkMessage(md, b, 0, "")
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

func checkMessage(md protoreflect.MessageDescriptor, b []byte, depth int, path string) (string, string) {
	if depth > maxDepth {
		return "DROPIPC_ERR_PROTO", path + ": nested too deeply"
	}
	seen := map[protowire.Number]int{}
	for at := 0; at < len(b); {
		num, typ, n := protowire.ConsumeTag(b[at:])
		if n < 0 {
			return notProtobuf(path, "truncated varint")
		}
		if typ == protowire.StartGroupType || typ == protowire.EndGroupType {
			return notProtobuf(path, "unsupported wire type (groups)")
		}
		m := protowire.ConsumeFieldValue(num, typ, b[at+n:])
		if m < 0 {
			why := "length runs past the end"
			switch typ {
			case protowire.VarintType:
				why = "truncated varint"
			case protowire.Fixed32Type, protowire.Fixed64Type:
				why = "truncated fixed-size field"
			}
			if typ != protowire.BytesType && typ != protowire.VarintType &&
				typ != protowire.Fixed32Type && typ != protowire.Fixed64Type {
				why = "unsupported wire type (groups)"
			}
			return notProtobuf(path, why)
		}
		value := b[at+n : at+n+m]
		at += n + m
		fd := md.Fields().ByNumber(num)
		if fd == nil {
			continue
		}
		if typ != wireType(fd) && !(typ == protowire.BytesType && fd.IsList()) {
			return "DROPIPC_ERR_PROTO", fmt.Sprintf("%s: wire type %d, expected %d",
				join(path, string(fd.Name())), typ, wireType(fd))
		}
		k := fd.Kind()
		if typ != protowire.BytesType ||
			(k != protoreflect.StringKind && k != protoreflect.BytesKind && k != protoreflect.MessageKind) {
			continue
		}
		v, _ := protowire.ConsumeBytes(value)
		name := join(path, string(fd.Name()))
		if fd.IsList() {
			name = fmt.Sprintf("%s[%d]", name, seen[num])
			seen[num]++
		}
		switch k {
		case protoreflect.MessageKind:
			if cls, msg := checkMessage(fd.Message(), v, depth+1, name); cls != "" {
				return cls, msg
			}
		case protoreflect.BytesKind:
			if md.FullName() == customDesc.FullName() {
				continue
			}
			if i, _ := badText(v, false); i >= 0 {
				return "DROPIPC_ERR_INVALID", fmt.Sprintf("%s: NUL byte at byte %d", name, i)
			}
		case protoreflect.StringKind:
			if i, nul := badText(v, !isReportText(md, fd)); i >= 0 {
				what := "invalid UTF-8"
				if nul {
					what = "NUL byte"
				}
				return "DROPIPC_ERR_INVALID", fmt.Sprintf("%s: %s at byte %d", name, what, i)
			}
		}
	}
	return "", ""
}

func notProtobuf(path, why string) (string, string) {
	return "DROPIPC_ERR_PROTO", strings.TrimPrefix(path+": not valid protobuf: "+why, ": ")
}

// unpackReport decodes a ChildError whose bytes passed wireCheck: by hand,
// as proto.Unmarshal refuses a text that is not UTF-8, which a report's
// may be (the receiver sanitizes it).
func unpackReport(b []byte) *pb.ChildError {
	e := &pb.ChildError{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		b = b[n:]
		switch {
		case num == 1 && typ == protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			e.Stage, n = pb.ChildError_Stage(int32(v)), m
		case num == 2 && typ == protowire.VarintType:
			v, m := protowire.ConsumeVarint(b)
			e.ErrnoValue, n = int32(v), m
		case num == 3 && typ == protowire.BytesType:
			v, m := protowire.ConsumeBytes(b)
			e.Message, n = string(v), m
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		b = b[n:]
	}
	return e
}
