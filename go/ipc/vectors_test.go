// SPDX-License-Identifier: Apache-2.0 OR MIT

package ipc

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// The conformance vectors of test/vectors (format: its README.md), each
// run on a real socket pair with real fds against the Go ends.

type vector struct {
	file, name, receiver, call string
	fds                        []string
	frames                     [][]byte
	expect                     string // "ok" or the error class
	dump                       []string
	report                     []string // stage, errno, hex text
}

func readVectors(t *testing.T) []vector {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join("..", "..", "test", "vectors", "*.vec"))
	if len(files) == 0 {
		t.Skip("no test/vectors/*.vec here (outside libdropipc's tree)")
	}
	var out []vector
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var v *vector
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 64<<20)
		for n := 1; sc.Scan(); n++ {
			line := sc.Text()
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			key, rest, _ := strings.Cut(line, " ")
			if v == nil && key != "vector" {
				t.Fatalf("%s:%d: %q outside a vector", f, n, line)
			}
			switch key {
			case "vector":
				v = &vector{file: filepath.Base(f), name: rest}
			case "receiver":
				v.receiver = rest
			case "call":
				v.call = rest
			case "fd":
				v.fds = append(v.fds, rest)
			case "frame":
				b, err := hex.DecodeString(strings.ReplaceAll(rest, " ", ""))
				if err != nil {
					t.Fatalf("%s:%d: %v", f, n, err)
				}
				v.frames = append(v.frames, b)
			case "expect":
				v.expect = strings.TrimPrefix(rest, "error ")
			case "dump":
				v.dump = append(v.dump, rest)
			case "report":
				v.report = strings.Fields(rest)
			case "end":
				out = append(out, *v)
				v = nil
			default:
				t.Fatalf("%s:%d: unknown line %q", f, n, line)
			}
		}
	}
	return out
}

var vectorClasses = map[string]error{
	"eof": io.EOF, "truncated": ErrTrunc, "protocol": ErrProto, "too_big": ErrTooBig,
	"invalid": ErrInvalid, "unsupported": ErrUnsupported, "child_error": ErrChild,
	"not_pty": ErrNotPty, "no_exec": ErrNoExec,
}

// sentFd is one fd of a vector: what travels, and the end we keep to see
// whether the receiver closed its copy.
type sentFd struct {
	send *os.File
	kept *os.File
	kind string
	st   syscall.Stat_t
}

func makeFd(t *testing.T, kind string) sentFd {
	t.Helper()
	var s sentFd
	s.kind = kind
	var err error
	switch kind {
	case "pipe":
		s.send, s.kept, err = os.Pipe()
	case "pty_master":
		var slave *os.File
		s.send, slave, err = openPty()
		if err == nil {
			slave.Close()
		}
	case "regular":
		s.send, err = os.Open("/proc/self/exe")
	case "socket":
		var fds [2]int
		fds, err = syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err == nil {
			s.send, s.kept = os.NewFile(uintptr(fds[0]), "sent"), os.NewFile(uintptr(fds[1]), "kept")
		}
	default:
		t.Fatalf("unknown fd type %q", kind)
	}
	if err != nil {
		t.Fatalf("fd %s: %v", kind, err)
	}
	if err := syscall.Fstat(int(s.send.Fd()), &s.st); err != nil {
		t.Fatal(err)
	}
	return s
}

// closedByReceiver says whether the receiver's copy of a pipe or socket is
// gone: our kept end sees the hangup.
func (s sentFd) closedByReceiver() bool {
	pfd := []struct {
		fd             int32
		events, revent int16
	}{{int32(s.kept.Fd()), 0, 0}}
	switch s.kind {
	case "pipe", "socket":
	default:
		return true
	}
	_, _, e := syscall.Syscall(syscall.SYS_POLL, uintptr(unsafe.Pointer(&pfd[0])), 1, 1000)
	if e != 0 {
		return false
	}
	return pfd[0].revent&(0x8|0x10) != 0 // POLLERR, POLLHUP
}

// indexOf is the vector's fd index of a received file (same inode), or -1.
func indexOf(sent []sentFd, f *os.File) int {
	var st syscall.Stat_t
	if syscall.Fstat(int(f.Fd()), &st) != nil {
		return -1
	}
	for i, s := range sent {
		if s.st.Dev == st.Dev && s.st.Ino == st.Ino {
			return i
		}
	}
	return -1
}

func escapeDump(s string) string {
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

// dumpArgs is the dump format of docs/PROTOCOL.md: no confirm_exec, an
// all-0 term_size as absent.
func dumpArgs(a *ChildArgs) []string {
	m, _ := a.Proto()
	if ts := m.TermSize; ts != nil && ts.Rows == 0 && ts.Cols == 0 && ts.XPixels == 0 && ts.YPixels == 0 {
		m.TermSize = nil
	}
	var out []string
	for _, l := range leaves(m.ProtoReflect(), "", nil) {
		if l.path == "confirm_exec" {
			continue
		}
		var v string
		switch l.field.Kind() {
		case protoreflect.BoolKind:
			v = strconv.FormatBool(l.value.Bool())
		case protoreflect.StringKind:
			v = escapeDump(l.value.String())
		case protoreflect.BytesKind:
			v = escapeDump(string(l.value.Bytes()))
		case protoreflect.EnumKind:
			v = strconv.Itoa(int(l.value.Enum()))
		case protoreflect.Int32Kind, protoreflect.Int64Kind:
			v = strconv.FormatInt(l.value.Int(), 10)
		default:
			v = strconv.FormatUint(l.value.Uint(), 10)
		}
		out = append(out, l.path+"="+v)
	}
	return out
}

func dumpFiles(sent []sentFd, files []NamedFile) []string {
	var out []string
	for i, f := range files {
		out = append(out, fmt.Sprintf("files[%d].name=%s", i, escapeDump(f.Name)),
			fmt.Sprintf("files[%d].fd=%d", i, indexOf(sent, f.File)))
	}
	return out
}

func runVector(t *testing.T, v vector) {
	sp, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	sender := os.NewFile(uintptr(sp[1]), "sender")
	defer sender.Close()
	var sent []sentFd
	var rights []int
	for _, kind := range v.fds {
		s := makeFd(t, kind)
		sent = append(sent, s)
		rights = append(rights, int(s.send.Fd()))
		if s.kept != nil {
			defer s.kept.Close()
		}
	}
	// The sender writes the frames (the fds with the first byte), then
	// closes its direction; in a goroutine, as a frame may fill the socket.
	wrote := make(chan error, 1)
	go func() {
		var err error
		for i, f := range v.frames {
			if i == 0 && len(rights) > 0 && len(f) > 0 {
				err = syscall.Sendmsg(sp[1], f[:1], syscall.UnixRights(rights...), nil, 0)
				f = f[1:]
			}
			if err == nil {
				_, err = sender.Write(f)
			}
			if err != nil {
				break
			}
		}
		syscall.Shutdown(sp[1], syscall.SHUT_WR)
		wrote <- err
	}()

	var got []string
	var files []NamedFile
	var parent *ParentEnd
	var child *ChildEnd
	var end interface{ Close() error }
	if v.receiver == "parent" {
		parent = NewParentEnd(uintptr(sp[0]))
		parent.SetTimeout(10 * time.Second)
		end = parent
	} else {
		child = NewChildEnd(uintptr(sp[0]))
		child.SetTimeout(10 * time.Second)
		end = child
	}
	switch v.call {
	case "args":
		var a *ChildArgs
		if a, err = child.RecvChildArgs(); err == nil {
			got = dumpArgs(a)
		}
	case "pty":
		var m *os.File
		if m, err = parent.RecvPty(); err == nil {
			m.Close()
		}
	case "wait_exec":
		err = parent.WaitExec()
	case "files":
		if parent != nil {
			files, err = parent.RecvFiles()
		} else {
			files, err = child.RecvFiles()
		}
		got = dumpFiles(sent, files)
	case "custom":
		var m *Custom
		if parent != nil {
			m, err = parent.RecvCustom()
		} else {
			m, err = child.RecvCustom()
		}
		if err == nil {
			files = m.Files
			got = append([]string{"type=" + escapeDump(m.Type), "data=" + escapeDump(string(m.Data))},
				dumpFiles(sent, files)...)
		}
	default:
		t.Fatalf("unknown call %q", v.call)
	}
	for _, f := range files {
		f.File.Close()
	}
	for _, s := range sent {
		s.send.Close()
	}
	if v.expect == "ok" {
		if err != nil {
			t.Fatalf("want ok, got %v", err)
		}
		if strings.Join(got, "\n") != strings.Join(v.dump, "\n") {
			t.Fatalf("dump:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(v.dump, "\n"))
		}
	} else {
		class, ok := vectorClasses[v.expect]
		if !ok {
			t.Fatalf("unknown class %q", v.expect)
		}
		if !errors.Is(err, class) {
			t.Fatalf("want error %s, got %v (%s)", v.expect, err, Name(err))
		}
	}
	if v.report != nil {
		ce := parent.ChildError()
		want := strings.Join(v.report, " ")
		if ce == nil {
			t.Fatalf("no report, want %s", want)
		}
		have := fmt.Sprintf("%d %d %x", int32(ce.Stage), int32(ce.Errno), ce.Message)
		if have != want {
			t.Fatalf("report %s (%q), want %s", have, ce.Message, want)
		}
	}
	end.Close()
	<-wrote
	// After a failure, every fd that arrived is closed (by us after a
	// success): the kept ends of pipes and sockets see the hangup.
	for i, s := range sent {
		if !s.closedByReceiver() {
			t.Errorf("fd %d (%s) still open in the receiver", i, s.kind)
		}
	}
}

func TestVectors(t *testing.T) {
	vs := readVectors(t)
	for _, v := range vs {
		v := v
		t.Run(strings.TrimSuffix(v.file, ".vec")+"/"+v.name, func(t *testing.T) { runVector(t, v) })
	}
	t.Logf("%d vectors", len(vs))
}
