// SPDX-License-Identifier: Apache-2.0 OR MIT

package main

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/libdropipc/libdropipc/go/ipc"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// leaf is one scalar of a message: its dump path, field and value.
type leaf struct {
	path  string
	field protoreflect.FieldDescriptor
	value protoreflect.Value
}

// leaves lists every scalar of m, depth-first in field-number order, every
// field of every present message (absent submessages have none).
func leaves(m protoreflect.Message, prefix string, out []leaf) []leaf {
	fields := m.Descriptor().Fields()
	sorted := make([]protoreflect.FieldDescriptor, fields.Len())
	for i := range sorted {
		sorted[i] = fields.Get(i)
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Number() < sorted[j].Number() })
	for _, f := range sorted {
		path := prefix + string(f.Name())
		isMsg := f.Kind() == protoreflect.MessageKind
		switch {
		case f.IsList():
			list := m.Get(f).List()
			for i := 0; i < list.Len(); i++ {
				p := fmt.Sprintf("%s[%d]", path, i)
				if isMsg {
					out = leaves(list.Get(i).Message(), p+".", out)
				} else {
					out = append(out, leaf{p, f, list.Get(i)})
				}
			}
		case isMsg:
			if m.Has(f) {
				out = leaves(m.Get(f).Message(), path+".", out)
			}
		default:
			out = append(out, leaf{path, f, m.Get(f)})
		}
	}
	return out
}

func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			b.WriteString(`\\`)
		case c == '\n':
			b.WriteString(`\n`)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func scalar(f protoreflect.FieldDescriptor, v protoreflect.Value) string {
	switch f.Kind() {
	case protoreflect.BoolKind:
		return strconv.FormatBool(v.Bool())
	case protoreflect.StringKind:
		return escape(v.String())
	case protoreflect.BytesKind:
		return escape(string(v.Bytes()))
	case protoreflect.EnumKind:
		return strconv.Itoa(int(v.Enum()))
	case protoreflect.Int32Kind, protoreflect.Int64Kind, protoreflect.Sint32Kind,
		protoreflect.Sint64Kind, protoreflect.Sfixed32Kind, protoreflect.Sfixed64Kind:
		return strconv.FormatInt(v.Int(), 10)
	default:
		return strconv.FormatUint(v.Uint(), 10)
	}
}

// dump is the canonical text of a message shared by every peer: one line
// "path=value" per scalar (docs/PROTOCOL.md, "The dump format"), but
// confirm_exec, which the ends set, not the caller.
func dump(m proto.Message) []byte {
	var b bytes.Buffer
	for _, l := range leaves(m.ProtoReflect(), "", nil) {
		if l.path == "confirm_exec" {
			continue
		}
		b.WriteString(l.path + "=" + scalar(l.field, l.value) + "\n")
	}
	return b.Bytes()
}

// writeDumpEnv writes the dump of a, as the generated message, to the file
// the environment variable names.
func writeDumpEnv(envVar string, a *ipc.ChildArgs) error {
	path := os.Getenv(envVar)
	if path == "" {
		return nil
	}
	m, err := a.Proto()
	if err != nil {
		return err
	}
	// An all-0 term_size is written as absent (docs/PROTOCOL.md).
	if ts := m.TermSize; ts != nil && ts.Rows == 0 && ts.Cols == 0 && ts.XPixels == 0 && ts.YPixels == 0 {
		m.TermSize = nil
	}
	return os.WriteFile(path, dump(m), 0o644)
}
