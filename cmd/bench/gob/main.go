// SPDX-License-Identifier: Apache-2.0 OR MIT

// dropipc-bench-gob: the handshake the way Drop's ipc package does it, for
// dropipc-bench to compare against. The parent encodes ChildArgs with a
// fresh gob encoder per send, the child decodes it with a fresh decoder per
// receive and sends a pty master back as SCM_RIGHTS with one byte; parent
// and child are two processes (the child is this program re-executed, its
// end of the socket pair as fd 3). Standard library only: build it with
// GO111MODULE=off go build.
//
// Usage:
//
//	dropipc-bench-gob serve          commands on stdin, one per line:
//	    warm M B E K   K+1 round trips with the persistent child, the first
//	                   discarded: "ok WIREBYTES NS..." (K numbers)
//	    alloc M B E    one decode in this process (after a warm-up one):
//	                   "ok MALLOCS BYTES_ALLOCATED"
//	dropipc-bench-gob cold M B E     a fresh child, one round trip timed
//	                   from the first byte sent to the fd received (process
//	                   start-up excluded): "ok WIREBYTES NS"
//	dropipc-bench-gob child          the child (fd 3)
//
// M, B and E are the numbers of mounts, blocked paths and exec args; the
// values are the same as dropipc-bench builds (see payload.c).
package main

import (
	"bufio"
	"bytes"
	"encoding/gob"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// The ChildArgs of the schema, as Go structs the way Drop declares its own.
type Paths struct {
	Cwd, DropHome, Env, FsRoot, HostHome, Home, Etc, Var, Tmp, Run string
	EmptyDir, EmptyFile                                            string
}

type Mount struct {
	Source, Target string
	RW, Overlay    bool
}

type SetVar struct {
	Name, Value string
}

type Environ struct {
	ExposedVars []string
	SetVars     []SetVar
}

type PublishedPort struct {
	Auto                bool
	HostIP              string
	HostPort, GuestPort uint32
}

type HostPort struct {
	Auto                bool
	HostPort, GuestPort uint32
}

type Net struct {
	Mode                                 int
	TCPPublishedPorts, UDPPublishedPorts []PublishedPort
	TCPHostPorts, UDPHostPorts           []HostPort
}

type Config struct {
	Extends      string
	Mounts       []Mount
	BlockedPaths []string
	Environ      Environ
	Net          Net
}

type ChildArgs struct {
	EnvId    string
	Paths    *Paths
	Config   *Config
	ExecArgs []string
}

const netIsolated = 2

// The example of the Go ipc package's test, grown to m mounts, b blocked
// paths and e exec args with generated entries.
func buildArgs(m, b, e int) ChildArgs {
	p := func(s string) string { return "/home/alice/.local/share/drop/" + s }
	mounts := []Mount{
		{Source: "~/docs", Target: "~/docs", Overlay: true},
		{Source: "~/projects", Target: "~/projects", RW: true},
	}
	for i := len(mounts); i < m; i++ {
		mounts = append(mounts, Mount{
			Source:  fmt.Sprintf("/home/alice/src/mount-%06d", i),
			Target:  fmt.Sprintf("~/mnt/mount-%06d", i),
			RW:      i%2 == 1,
			Overlay: i%3 == 0,
		})
	}
	blocked := []string{"/root", "/mnt"}
	for i := len(blocked); i < b; i++ {
		blocked = append(blocked, fmt.Sprintf("/home/alice/private/%06d", i))
	}
	execArgs := []string{"ls", "-al"}
	for i := len(execArgs); i < e; i++ {
		execArgs = append(execArgs, fmt.Sprintf("--argument-%09d", i))
	}
	return ChildArgs{
		EnvId: "test-env",
		Paths: &Paths{
			Cwd:       p("cwd"),
			DropHome:  "/home/alice/.local/share/drop",
			Env:       p("envs/test-env"),
			FsRoot:    p("internal/run/test-env/root"),
			HostHome:  "/home/alice",
			Home:      p("envs/test-env/home"),
			Etc:       p("envs/test-env/etc"),
			Var:       p("envs/test-env/var"),
			Tmp:       p("internal/run/test-env/tmp"),
			Run:       p("internal/run/test-env"),
			EmptyDir:  p("internal/emptydir"),
			EmptyFile: p("internal/emptyfile"),
		},
		Config: &Config{
			Extends:      "base",
			Mounts:       mounts,
			BlockedPaths: blocked,
			Environ: Environ{
				ExposedVars: []string{"PATH", "HOME", "TERM"},
				SetVars:     []SetVar{{Name: "FOO", Value: "bar"}},
			},
			Net: Net{
				Mode: netIsolated,
				TCPPublishedPorts: []PublishedPort{
					{HostPort: 8080, GuestPort: 3000},
					{HostPort: 8082, GuestPort: 3003},
				},
			},
		},
		ExecArgs: execArgs[:e],
	}
}

func die(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "dropipc-bench-gob: "+format+"\n", a...)
	os.Exit(1)
}

// ---- the child ----------------------------------------------------------

func child() {
	sock := os.NewFile(3, "child-socket")
	ptm, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		die("open /dev/ptmx: %v", err)
	}
	if _, err := sock.Write([]byte{'r'}); err != nil {
		die("child: write ready byte: %v", err)
	}
	for {
		var args ChildArgs
		if err := gob.NewDecoder(sock).Decode(&args); err != nil {
			if errors.Is(err, io.EOF) {
				return
			}
			die("child: failed to receive arguments from parent: %v", err)
		}
		if args.EnvId == "" || args.Paths == nil || args.Config == nil || len(args.ExecArgs) == 0 {
			die("child: incomplete arguments")
		}
		rights := syscall.UnixRights(int(ptm.Fd()))
		if err := syscall.Sendmsg(int(sock.Fd()), []byte{0}, rights, nil, 0); err != nil {
			die("child: failed to send pty file descriptor to parent: %v", err)
		}
	}
}

// ---- the parent ---------------------------------------------------------

type pair struct {
	sock *os.File
	cmd  *exec.Cmd
}

func spawn() *pair {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		die("socketpair: %v", err)
	}
	parentEnd := os.NewFile(uintptr(fds[0]), "parent-socket")
	childEnd := os.NewFile(uintptr(fds[1]), "child-socket")
	exe, err := os.Executable()
	if err != nil {
		die("os.Executable: %v", err)
	}
	cmd := exec.Command(exe, "child")
	cmd.ExtraFiles = []*os.File{childEnd}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		die("start child %s: %v", exe, err)
	}
	childEnd.Close()
	ready := make([]byte, 1)
	if _, err := io.ReadFull(parentEnd, ready); err != nil {
		die("wait for the child's ready byte: %v", err)
	}
	return &pair{sock: parentEnd, cmd: cmd}
}

func (p *pair) close() {
	p.sock.Close()
	if err := p.cmd.Wait(); err != nil {
		die("child: %v", err)
	}
}

// sendChildArgs is Drop's ParentEnd.SendChildArgs.
func (p *pair) sendChildArgs(args ChildArgs) error {
	if err := gob.NewEncoder(p.sock).Encode(args); err != nil {
		return fmt.Errorf("failed to send arguments to child: %v", err)
	}
	return nil
}

// recvPty is Drop's ParentEnd.RecvPty.
func (p *pair) recvPty() (*os.File, error) {
	buf := make([]byte, 1)
	oob := make([]byte, syscall.CmsgSpace(4))
	n, oobn, _, _, err := syscall.Recvmsg(int(p.sock.Fd()), buf, oob, 0)
	if err != nil {
		return nil, fmt.Errorf("recv pty: recvmsg: %v", err)
	}
	if n == 0 && oobn == 0 {
		return nil, io.EOF
	}
	scms, err := syscall.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, fmt.Errorf("recv pty: parse socket control message: %v", err)
	}
	if len(scms) != 1 {
		return nil, fmt.Errorf("recv pty: expected 1 socket control message, got %d", len(scms))
	}
	fds, err := syscall.ParseUnixRights(&scms[0])
	if err != nil {
		return nil, fmt.Errorf("recv pty: parse unix rights: %v", err)
	}
	if len(fds) != 1 {
		return nil, fmt.Errorf("recv pty: expected 1 fd, got %d", len(fds))
	}
	return os.NewFile(uintptr(fds[0]), "pty"), nil
}

// roundTrip sends args and receives the pty; it returns the time taken.
func (p *pair) roundTrip(args ChildArgs) time.Duration {
	start := time.Now()
	if err := p.sendChildArgs(args); err != nil {
		die("%v", err)
	}
	pty, err := p.recvPty()
	if err != nil {
		die("%v", err)
	}
	elapsed := time.Since(start)
	pty.Close()
	return elapsed
}

// wireBytes is what one handshake puts on the socket: the gob stream of a
// fresh encoder (type definitions included, as every send has them) and the
// byte that carries the fd.
func wireBytes(args ChildArgs) int {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(args); err != nil {
		die("encode: %v", err)
	}
	return buf.Len() + 1
}

// decodeAllocs decodes args once, from a reader without ReadByte (as a
// socket is, so the decoder buffers as it does on one), and returns the
// number of heap allocations and the bytes allocated.
func decodeAllocs(args ChildArgs) (uint64, uint64) {
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(args); err != nil {
		die("encode: %v", err)
	}
	decode := func() {
		var out ChildArgs
		r := struct{ io.Reader }{bytes.NewReader(buf.Bytes())}
		if err := gob.NewDecoder(r).Decode(&out); err != nil {
			die("decode: %v", err)
		}
	}
	decode()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	decode()
	runtime.ReadMemStats(&after)
	return after.Mallocs - before.Mallocs, after.TotalAlloc - before.TotalAlloc
}

func shape(fields []string) (int, int, int) {
	if len(fields) != 3 {
		die("expected M B E, got %q", strings.Join(fields, " "))
	}
	var n [3]int
	for i, f := range fields {
		v, err := strconv.Atoi(f)
		if err != nil || v < 2 {
			die("bad count %q (at least 2)", f)
		}
		n[i] = v
	}
	return n[0], n[1], n[2]
}

func serve() {
	p := spawn()
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		switch {
		case f[0] == "warm" && len(f) == 5:
			args := buildArgs(shape(f[1:4]))
			k, err := strconv.Atoi(f[4])
			if err != nil || k < 1 {
				die("bad round count %q", f[4])
			}
			p.roundTrip(args)
			fmt.Fprintf(out, "ok %d", wireBytes(args))
			for i := 0; i < k; i++ {
				fmt.Fprintf(out, " %d", p.roundTrip(args).Nanoseconds())
			}
			fmt.Fprintln(out)
		case f[0] == "alloc" && len(f) == 4:
			mallocs, allocated := decodeAllocs(buildArgs(shape(f[1:4])))
			fmt.Fprintf(out, "ok %d %d\n", mallocs, allocated)
		default:
			die("unknown command %q", in.Text())
		}
		if err := out.Flush(); err != nil {
			die("write results: %v", err)
		}
	}
	p.close()
}

func cold(fields []string) {
	args := buildArgs(shape(fields))
	p := spawn()
	elapsed := p.roundTrip(args)
	p.close()
	// Only now: encoding earlier would warm gob's type cache.
	fmt.Printf("ok %d %d\n", wireBytes(args), elapsed.Nanoseconds())
}

func main() {
	switch {
	case len(os.Args) == 2 && os.Args[1] == "child":
		child()
	case len(os.Args) == 2 && os.Args[1] == "serve":
		serve()
	case len(os.Args) == 5 && os.Args[1] == "cold":
		cold(os.Args[2:])
	default:
		fmt.Fprintln(os.Stderr, "usage: dropipc-bench-gob serve | cold M B E | child")
		os.Exit(2)
	}
}
