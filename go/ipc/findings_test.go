// SPDX-License-Identifier: Apache-2.0 OR MIT

package ipc

import (
	"errors"
	"io"
	"net"
	"os"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	pb "github.com/libdropipc/libdropipc/go/dropipcv1"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// pair is a connected pair of ends, closed at the test's end.
func pair(t *testing.T) (*ParentEnd, *ChildEnd) {
	t.Helper()
	p, c, err := NewParentChildSocket()
	if err != nil {
		t.Fatal(err)
	}
	p.SetTimeout(10 * time.Second)
	c.SetTimeout(10 * time.Second)
	t.Cleanup(func() { p.Close(); c.Close() })
	return p, c
}

// roundTrip sends args from a parent and receives them in the child.
func roundTrip(t *testing.T, args ChildArgs) (*ChildArgs, error) {
	t.Helper()
	p, c := pair(t)
	if err := p.SendChildArgs(args); err != nil {
		return nil, err
	}
	return c.RecvChildArgs()
}

// OS strings are bytes: a Latin-1 working directory and an argument
// $'\xff' arrive unchanged (proto.Marshal refused both before).
func TestBytesPassUnchanged(t *testing.T) {
	args := exampleArgs()
	args.Paths.Cwd = "/home/alice/caf\xe9"
	args.ExecArgs = []string{"grep", "\xff", "f"}
	args.Config.Environ.SetVars = []EnvVar{{Name: "N\xe9", Value: "v\xff\x01"}}
	args.Config.Mounts = []Mount{{Source: "/srv/d\xe9j\xe0", Target: "~/x\xff"}}
	got, err := roundTrip(t, args)
	if err != nil {
		t.Fatalf("round trip: %v", err)
	}
	if !reflect.DeepEqual(got, &args) {
		t.Fatalf("got %+v, want %+v", got, &args)
	}
}

// Drop's "auto": every port, host_ip empty and both ports 0.
func TestPortAuto(t *testing.T) {
	args := exampleArgs()
	args.Config.Net = Net{Mode: NetIsolated,
		TCPPublishedPorts: []PublishedPort{{Auto: true}}, UDPHostPorts: []HostPort{{Auto: true}}}
	got, err := roundTrip(t, args)
	if err != nil {
		t.Fatalf("Drop's auto: %v", err)
	}
	if !reflect.DeepEqual(got, &args) {
		t.Fatalf("got %+v, want %+v", got, &args)
	}
	for _, c := range []struct {
		net  Net
		want string
	}{
		{Net{Mode: NetIsolated, TCPPublishedPorts: []PublishedPort{{Auto: true, GuestPort: 80}}},
			"config.net.tcp_published_ports[0].guest_port: 80 set with auto"},
		{Net{Mode: NetIsolated, TCPPublishedPorts: []PublishedPort{{Auto: true, HostIP: "::1"}}},
			"config.net.tcp_published_ports[0].host_ip: set with auto"},
		{Net{Mode: NetIsolated, UDPHostPorts: []HostPort{{Auto: true, HostPort: 53}}},
			"config.net.udp_host_ports[0].host_port: 53 set with auto"},
		{Net{Mode: NetIsolated, TCPHostPorts: []HostPort{{HostPort: 53}}},
			"config.net.tcp_host_ports[0].guest_port: 0 is not in 1..65535"},
	} {
		a := exampleArgs()
		a.Config.Net = c.net
		if err := a.Validate(); !errors.Is(err, ErrInvalid) || err.Error() != c.want {
			t.Errorf("Validate: %v, want %q", err, c.want)
		}
	}
}

func TestPtyModeAndTermSize(t *testing.T) {
	args := exampleArgs()
	args.Pty = PtyNever
	args.TermSize = &TermSize{Rows: 24, Cols: 80, XPixels: 640, YPixels: 480}
	got, err := roundTrip(t, args)
	if err != nil {
		t.Fatal(err)
	}
	if got.Pty != PtyNever || !reflect.DeepEqual(got.TermSize, args.TermSize) {
		t.Fatalf("pty %v, term size %+v", got.Pty, got.TermSize)
	}
}

// No command is valid: the child runs the user's shell.
func TestEmptyExecArgs(t *testing.T) {
	args := exampleArgs()
	args.ExecArgs = nil
	got, err := roundTrip(t, args)
	if err != nil || len(got.ExecArgs) != 0 {
		t.Fatalf("empty exec args: %+v, %v", got, err)
	}
}

// A launcher's own message, both ways, with a named file that works.
func TestCustom(t *testing.T) {
	p, c := pair(t)
	for _, dir := range []string{"parent to child", "child to parent"} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		m := Custom{Type: "org.example.Limits/1", Data: []byte{0, 1, 0xff},
			Files: []NamedFile{{Name: "stdin", File: w}}}
		var got *Custom
		if dir == "parent to child" {
			err = p.SendCustom(m)
			if err == nil {
				got, err = c.RecvCustom()
			}
		} else {
			err = c.SendCustom(m)
			if err == nil {
				got, err = p.RecvCustom()
			}
		}
		w.Close()
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		if got.Type != m.Type || string(got.Data) != string(m.Data) || len(got.Files) != 1 ||
			got.Files[0].Name != "stdin" {
			t.Fatalf("%s: got %+v", dir, got)
		}
		got.Files[0].File.Write([]byte("through"))
		got.Files[0].File.Close()
		buf, _ := io.ReadAll(r)
		r.Close()
		if string(buf) != "through" {
			t.Fatalf("%s: read %q through the file", dir, buf)
		}
	}
	for _, bad := range []string{"", "has space", strings.Repeat("x", 257), "caf\xc3\xa9"} {
		if err := p.SendCustom(Custom{Type: bad}); Name(err) != "EINVAL" {
			t.Errorf("SendCustom type %q: %v, want EINVAL", bad, err)
		}
	}
}

// The same table as the C library's test (test/unit/test_hardening.c).
func TestSanitizeAsC(t *testing.T) {
	for _, c := range []struct{ in, out string }{
		{"plain text", "plain text"},
		{"tab\tand\nnewline", "tab\tand\nnewline"},
		{"\x1b[2J\r\x07\x7f", "?[2J???"},
		{"a\xc2\x9b[31mb", "a?[31mb"},
		{"\xc2\x80\xc2\x9f\xc2\xa0", "??\xc2\xa0"},
		{"nul\x00byte", "nul?byte"},
		{"caf\xe9!", "caf?!"},
		{"\xc0\xaf", "??"},
		{"\xed\xa0\x80", "???"},
		{"\xe2\x82", "??"},
		{"\xe2\x82\xac \xf0\x9f\x98\x80", "\xe2\x82\xac \xf0\x9f\x98\x80"},
		{"", ""},
	} {
		if got := Sanitize(c.in); got != c.out {
			t.Errorf("Sanitize(%q) = %q, want %q", c.in, got, c.out)
		}
	}
}

// A child's report is sanitized as C does; the error message is one line.
func TestChildReportSanitized(t *testing.T) {
	p, c := pair(t)
	if err := c.SendError(StageExec, syscall.ENOENT, "execvp /tmp/caf\xe9: gone \xc2\x9b31m\nx"); err != nil {
		t.Fatal(err)
	}
	_, err := p.RecvPty()
	ce := p.ChildError()
	if !errors.Is(err, ErrChild) || ce == nil || ce.Message != "execvp /tmp/caf?: gone ?31m\nx" ||
		err.Error() != "recv pty: child setup failed at exec: execvp /tmp/caf?: gone ?31m?x" {
		t.Fatalf("RecvPty: %v, report %+v", err, ce)
	}
}

// rawArgs sends a ChildArgs body as raw bytes and receives it in the child.
func rawArgs(t *testing.T, body []byte) error {
	t.Helper()
	p, c := pair(t)
	env := protowire.AppendTag(nil, 1, protowire.BytesType)
	env = protowire.AppendBytes(env, body)
	pc, err := p.begin("test")
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.sendFrame(env, nil); err != nil {
		t.Fatal(err)
	}
	_, err = c.RecvChildArgs()
	return err
}

func lenField(num protowire.Number, v []byte) []byte {
	b := protowire.AppendTag(nil, num, protowire.BytesType)
	return protowire.AppendBytes(b, v)
}

func varintField(num protowire.Number, v uint64) []byte {
	b := protowire.AppendTag(nil, num, protowire.VarintType)
	return protowire.AppendVarint(b, v)
}

func concat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

// Groups (wire types 3 and 4) and known fields of the wrong wire type are
// refused at every depth, as C refuses them; the Go library accepts them.
func TestWireTypesRefused(t *testing.T) {
	good, err := proto.Marshal(mustProto(t, exampleArgs()))
	if err != nil {
		t.Fatal(err)
	}
	group := concat(protowire.AppendTag(nil, 9, protowire.StartGroupType),
		protowire.AppendTag(nil, 9, protowire.EndGroupType))
	for _, c := range []struct {
		name, want string
		body       []byte
	}{
		{"group at the top", "recv args: not valid protobuf: unsupported wire type (groups)",
			concat(good, group)},
		{"group in config.net", "recv args: config.net: not valid protobuf: unsupported wire type (groups)",
			concat(lenField(1, []byte("x")), lenField(3, lenField(5, group)))},
		{"group in a mount", "recv args: config.mounts[0]: not valid protobuf: unsupported wire type (groups)",
			concat(good, lenField(3, lenField(2, concat(lenField(1, []byte("/a")), group))))},
		{"cwd as a varint", "recv args: paths.cwd: wire type 0, expected 2",
			concat(lenField(1, []byte("x")), lenField(2, varintField(1, 1)))},
		{"rw as bytes", "recv args: config.mounts[0].rw: wire type 2, expected 0",
			concat(good, lenField(3, lenField(2, lenField(3, []byte{1}))))},
		{"port as fixed32", "recv args: config.net.tcp_published_ports[0].guest_port: wire type 5, expected 0",
			concat(good, lenField(3, lenField(5, lenField(2,
				protowire.AppendFixed32(protowire.AppendTag(nil, 4, protowire.Fixed32Type), 80)))))},
		{"env_id as varint", "recv args: env_id: wire type 0, expected 2",
			concat(good, varintField(1, 7))},
	} {
		err := rawArgs(t, c.body)
		if !errors.Is(err, ErrProto) || err.Error() != c.want {
			t.Errorf("%s: %v, want ErrProto %q", c.name, err, c.want)
		}
	}
}

func mustProto(t *testing.T, a ChildArgs) *pb.ChildArgs {
	t.Helper()
	m, err := a.Proto()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The rules of C's dropipc_args_validate, Drop's path rule, and a NUL in
// any bytes field, named.
func TestValidateAsC(t *testing.T) {
	for _, c := range []struct {
		change func(*ChildArgs)
		want   string
	}{
		{func(a *ChildArgs) { a.Config.Mounts = []Mount{{Source: "/a", Target: "/etc/../usr"}} },
			"config.mounts[0].target: path is not normalized: /etc/../usr"},
		{func(a *ChildArgs) { a.Config.Mounts = []Mount{{Source: "x", Target: "/x"}} },
			"config.mounts[0].source: path must start with / or ~/: x"},
		{func(a *ChildArgs) { a.Config.BlockedPaths = []string{"/", "~", "~/a", "/a//b"} },
			"config.blocked_paths[3]: path is not normalized: /a//b"},
		{func(a *ChildArgs) { a.Config.BlockedPaths = []string{"/a/"} },
			"config.blocked_paths[0]: path is not normalized: /a/"},
		{func(a *ChildArgs) { a.Config.BlockedPaths = []string{"~x"} },
			"config.blocked_paths[0]: path must start with / or ~/: ~x"},
		{func(a *ChildArgs) { a.Config.BlockedPaths = []string{"/a/./b"} },
			"config.blocked_paths[0]: path is not normalized: /a/./b"},
		{func(a *ChildArgs) { a.Config.BlockedPaths = []string{""} },
			"config.blocked_paths[0]: empty"},
		{func(a *ChildArgs) { a.Paths.Cwd = "/a\x00b" }, "paths.cwd: NUL byte at byte 2"},
		{func(a *ChildArgs) { a.ExecArgs = []string{"ls", "\x00"} }, "exec_args[1]: NUL byte at byte 0"},
		{func(a *ChildArgs) { a.Config.Environ.SetVars = []EnvVar{{Name: "A", Value: "b\x00"}} },
			"config.environ.set_vars[0].value: NUL byte at byte 1"},
		{func(a *ChildArgs) { a.Config.Environ.SetVars = []EnvVar{{Name: "A=B"}} },
			"config.environ.set_vars[0].name: '=' at byte 1"},
		{func(a *ChildArgs) { a.EnvId = "caf\xe9" }, "env_id: invalid UTF-8 at byte 3"},
		{func(a *ChildArgs) { a.EnvId = "" }, "env_id: empty"},
		{func(a *ChildArgs) { a.Paths = nil }, "paths: missing"},
	} {
		a := exampleArgs()
		c.change(&a)
		if err := a.Validate(); !errors.Is(err, ErrInvalid) || err.Error() != c.want {
			t.Errorf("Validate: %v, want %q", err, c.want)
		}
	}
	// The receiver refuses the same, naming the field.
	m := mustProto(t, exampleArgs())
	m.Config.Mounts = []*pb.Mount{{Source: []byte("/a"), Target: []byte("/etc/../usr")}}
	body, _ := proto.Marshal(m)
	err := rawArgs(t, body)
	if !errors.Is(err, ErrInvalid) ||
		err.Error() != "recv args: config.mounts[0].target: path is not normalized: /etc/../usr" {
		t.Fatalf("RecvChildArgs: %v", err)
	}
	m = mustProto(t, exampleArgs())
	m.ExecArgs = [][]byte{[]byte("a\x00")}
	body, _ = proto.Marshal(m)
	if err := rawArgs(t, body); !errors.Is(err, ErrInvalid) ||
		err.Error() != "recv args: exec_args[0]: NUL byte at byte 1" {
		t.Fatalf("RecvChildArgs: %v", err)
	}
}

// Close from another goroutine unblocks a receive; race-free under -race,
// and the error matches net.ErrClosed.
func TestConcurrentClose(t *testing.T) {
	p, c := pair(t)
	_ = c
	done := make(chan error, 1)
	go func() {
		_, err := p.RecvPty()
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, net.ErrClosed) || !errors.Is(err, ErrClosed) || Name(err) != "DROPIPC_ERR_CLOSED" {
			t.Fatalf("RecvPty after Close: %v (%s), want net.ErrClosed", err, Name(err))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RecvPty still blocked 10 s after Close")
	}
	if _, err := p.RecvPty(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("RecvPty on a closed end: %v, want net.ErrClosed", err)
	}
	if err := p.Close(); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("second Close: %v, want net.ErrClosed", err)
	}
}

// Timeouts match os.ErrDeadlineExceeded; SetDeadline bounds calls, also
// one already blocked.
func TestDeadlines(t *testing.T) {
	p, _ := pair(t)
	p.SetTimeout(20 * time.Millisecond)
	_, err := p.RecvPty()
	if !errors.Is(err, os.ErrDeadlineExceeded) || !errors.Is(err, ErrTimeout) {
		t.Fatalf("timeout: %v, want os.ErrDeadlineExceeded", err)
	}
	p.SetTimeout(-1)
	if err := p.SetDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := p.RecvPty(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("past deadline: %v, want os.ErrDeadlineExceeded", err)
	}
	p.SetDeadline(time.Time{})
	done := make(chan error, 1)
	go func() {
		_, err := p.RecvPty()
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	p.SetReadDeadline(time.Now())
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("blocked call after SetReadDeadline: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("RecvPty still blocked 10 s after SetReadDeadline(now)")
	}
}

// A failed system call keeps its errno for errors.Is, whichever it is.
func TestErrnoKept(t *testing.T) {
	p, c := pair(t)
	c.Close()
	err := p.SendChildArgs(exampleArgs())
	if !errors.Is(err, syscall.EPIPE) || Name(err) != "EPIPE" {
		t.Fatalf("send to a closed peer: %v (%s), want EPIPE", err, Name(err))
	}
	r, w, _ := os.Pipe()
	defer w.Close()
	e := NewParentEnd(r.Fd())
	defer e.Close()
	if _, err := e.RecvPty(); !errors.Is(err, syscall.ENOTSOCK) {
		t.Fatalf("a pipe as the end: %v, want ENOTSOCK", err)
	}
	err = (&conn{op: "x"}).ioFail(syscall.Errno(133), "read", 0)
	var errno syscall.Errno
	if !errors.Is(err, syscall.Errno(133)) || Name(err) != "errno 133" ||
		!errors.As(err, &errno) || errno != 133 {
		t.Fatalf("errno 133: %v (%s), As gives %d", err, Name(err), errno)
	}
}

// The ends take uintptr fds, as Drop's.
var (
	_ func(uintptr) *ParentEnd = NewParentEnd
	_ func(uintptr) *ChildEnd  = NewChildEnd
)

// Named files both ways; an empty list is refused on send.
func TestFiles(t *testing.T) {
	p, c := pair(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := c.SendFiles([]NamedFile{{Name: "stdout", File: w}}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	files, err := p.RecvFiles()
	if err != nil || len(files) != 1 || files[0].Name != "stdout" {
		t.Fatalf("RecvFiles: %+v, %v", files, err)
	}
	files[0].File.Write([]byte("x"))
	files[0].File.Close()
	if buf, _ := io.ReadAll(r); string(buf) != "x" {
		t.Fatalf("read %q through the received file", buf)
	}
	if err := p.SendFiles(nil); Name(err) != "EINVAL" {
		t.Fatalf("SendFiles(nil): %v, want EINVAL", err)
	}
}
