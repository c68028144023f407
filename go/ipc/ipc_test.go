// SPDX-License-Identifier: Apache-2.0 OR MIT

package ipc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strconv"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// openPty opens a pty pair: the master and its slave.
func openPty() (master, slave *os.File, err error) {
	master, err = os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	var unlock int32
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCSPTLCK,
		uintptr(unsafe.Pointer(&unlock))); e != 0 {
		master.Close()
		return nil, nil, fmt.Errorf("unlockpt: %w", e)
	}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCGPTN,
		uintptr(unsafe.Pointer(&n))); e != 0 {
		master.Close()
		return nil, nil, fmt.Errorf("ptsname: %w", e)
	}
	slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	return master, slave, nil
}

// As Drop's ipc_test.go (v0.1.5), with the pty handoff of libdropipc: the
// child goroutine receives the arguments, checks them, and sends back a
// real pty master; the parent reads through it what is written to the slave.
func TestParentChildCommunication(t *testing.T) {
	parentEnd, childEnd, err := NewParentChildSocket()
	if err != nil {
		t.Fatalf("NewParentChildSocket: %v", err)
	}
	defer parentEnd.Close()

	sentArgs := ChildArgs{
		EnvId: "test-env",
		Paths: &Paths{
			Cwd:       "/home/alice/project",
			DropHome:  "/home/alice/.local/share/drop",
			Env:       "/home/alice/.local/share/drop/envs/test-env",
			FsRoot:    "/home/alice/.local/share/drop/internal/run/test-env-123/root",
			HostHome:  "/home/alice",
			Home:      "/home/alice/.local/share/drop/envs/test-env/home",
			Etc:       "/home/alice/.local/share/drop/envs/test-env/etc",
			Var:       "/home/alice/.local/share/drop/envs/test-env/var",
			Tmp:       "/tmp/drop-test-env-456",
			Run:       "/home/alice/.local/share/drop/internal/run/test-env-123",
			EmptyDir:  "/home/alice/.local/share/drop/internal/emptyd",
			EmptyFile: "/home/alice/.local/share/drop/internal/empty",
		},
		Config: &Config{
			Extends: "base.toml",
			Mounts: []Mount{
				{Source: "~/docs", Target: "~/docs", RW: false, Overlay: true},
				{Source: "~/projects", Target: "~/projects", RW: true, Overlay: false},
			},
			BlockedPaths: []string{"/root", "/mnt"},
			Environ: Environ{
				ExposedVars: []string{"PATH", "HOME", "TERM"},
				SetVars:     []EnvVar{{Name: "FOO", Value: "bar"}},
			},
			Net: Net{
				Mode: "isolated",
				TCPPublishedPorts: []PublishedPort{
					{HostPort: 8080, GuestPort: 3000},
					{HostPort: 8082, GuestPort: 3003},
				},
			},
		},
		ExecArgs: []string{"ls", "-al"},
	}
	const text = "hello through the pty"

	done := make(chan error, 1)
	go func() {
		defer childEnd.Close()
		receivedArgs, err := childEnd.RecvChildArgs()
		if err != nil {
			done <- err
			return
		}
		if !reflect.DeepEqual(receivedArgs, &sentArgs) {
			done <- fmt.Errorf("received args differ from sent args:\ngot:  %+v\nwant: %+v",
				receivedArgs, &sentArgs)
			return
		}
		master, slave, err := openPty()
		if err != nil {
			done <- err
			return
		}
		defer master.Close()
		err = childEnd.SendPty(master)
		if err == nil {
			_, err = slave.Write([]byte(text))
		}
		slave.Close()
		done <- err
	}()

	if err := parentEnd.SendChildArgs(sentArgs); err != nil {
		t.Fatalf("SendChildArgs: %v", err)
	}
	master, err := parentEnd.RecvPty()
	if err != nil {
		t.Fatalf("RecvPty: %v", err)
	}
	defer master.Close()
	if err := <-done; err != nil {
		t.Fatalf("child goroutine: %v", err)
	}
	buf := make([]byte, len(text))
	if _, err := io.ReadFull(master, buf); err != nil || string(buf) != text {
		t.Fatalf("read through the pty: %q, %v; want %q", buf, err, text)
	}
}

func exampleArgs() ChildArgs {
	return ChildArgs{EnvId: "e", Paths: &Paths{}, Config: &Config{Net: Net{Mode: NetOff}},
		ExecArgs: []string{"true"}}
}

// waitExec runs the child's side in a goroutine and returns WaitExec's
// result and the parent's end.
func waitExec(t *testing.T, child func(*ChildEnd) error) (*ParentEnd, error) {
	t.Helper()
	parent, childEnd, err := NewParentChildSocket()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { parent.Close() })
	parent.SetTimeout(10 * time.Second)
	done := make(chan error, 1)
	go func() {
		defer childEnd.Close()
		if _, err := childEnd.RecvChildArgs(); err != nil {
			done <- err
			return
		}
		done <- child(childEnd)
	}()
	if err := parent.SendChildArgs(exampleArgs()); err != nil {
		t.Fatalf("SendChildArgs: %v", err)
	}
	err = parent.WaitExec()
	if cerr := <-done; cerr != nil {
		t.Fatalf("child: %v", cerr)
	}
	return parent, err
}

func TestWaitExecConfirmed(t *testing.T) {
	_, err := waitExec(t, func(ch *ChildEnd) error { return ch.ConfirmExec() })
	if err != nil {
		t.Fatalf("WaitExec after ExecConfirm and end-of-stream: %v, want nil", err)
	}
}

func TestWaitExecNoConfirm(t *testing.T) {
	_, err := waitExec(t, func(ch *ChildEnd) error { return nil })
	if !errors.Is(err, ErrNoExec) || Name(err) != "DROPIPC_ERR_NOEXEC" {
		t.Fatalf("WaitExec after end-of-stream alone: %v, want ErrNoExec", err)
	}
	want := "wait exec: the child closed the channel without confirming its exec"
	if err.Error() != want {
		t.Fatalf("message %q, want %q", err, want)
	}
}

func TestWaitExecChildError(t *testing.T) {
	for _, confirm := range []bool{false, true} {
		parent, err := waitExec(t, func(ch *ChildEnd) error {
			if confirm {
				if err := ch.ConfirmExec(); err != nil {
					return err
				}
			}
			return ch.SendError(StageExec, syscall.ENOENT, "execvp nosuch: No such file\x1b[2J")
		})
		if !errors.Is(err, ErrChild) {
			t.Fatalf("confirm %v: WaitExec after a ChildError: %v, want ErrChild", confirm, err)
		}
		ce := parent.ChildError()
		if ce == nil || ce.Stage != StageExec || ce.Errno != syscall.ENOENT ||
			ce.Message != "execvp nosuch: No such file?[2J" {
			t.Fatalf("confirm %v: ChildError %+v", confirm, ce)
		}
	}
}

// A child facing a parent that did not ask for a confirmation sends none.
func TestConfirmExecNotAsked(t *testing.T) {
	parent, child, err := NewParentChildSocket()
	if err != nil {
		t.Fatal(err)
	}
	defer parent.Close()
	child.confirm = false
	if err := child.ConfirmExec(); err != nil {
		t.Fatalf("ConfirmExec: %v", err)
	}
	child.Close()
	parent.SetTimeout(10 * time.Second)
	if _, err := parent.RecvPty(); !errors.Is(err, io.EOF) {
		t.Fatalf("RecvPty after the child closed: %v, want io.EOF", err)
	}
}

func TestRecvPtyEOF(t *testing.T) {
	parent, child, err := NewParentChildSocket()
	if err != nil {
		t.Fatal(err)
	}
	defer parent.Close()
	if err := parent.SendChildArgs(exampleArgs()); err != nil {
		t.Fatal(err)
	}
	child.Close()
	if _, err := parent.RecvPty(); !errors.Is(err, io.EOF) {
		t.Fatalf("RecvPty: %v, want io.EOF", err)
	}
}

func TestTimeout(t *testing.T) {
	parent, child, err := NewParentChildSocket()
	if err != nil {
		t.Fatal(err)
	}
	defer parent.Close()
	defer child.Close()
	parent.SetTimeout(50 * time.Millisecond)
	if _, err := parent.RecvPty(); !errors.Is(err, ErrTimeout) {
		t.Fatalf("RecvPty: %v, want ErrTimeout", err)
	}
}

func TestSendInvalid(t *testing.T) {
	parent, child, err := NewParentChildSocket()
	if err != nil {
		t.Fatal(err)
	}
	defer parent.Close()
	defer child.Close()
	args := exampleArgs()
	args.Config.Net.TCPPublishedPorts = []PublishedPort{{HostPort: 8080}}
	err = parent.SendChildArgs(args)
	want := "send child args: config.net.tcp_published_ports[0].guest_port: 0 is not in 1..65535"
	if !errors.Is(err, ErrInvalid) || err.Error() != want {
		t.Fatalf("SendChildArgs: %v, want %q", err, want)
	}
	args = exampleArgs()
	args.Config.Net.Mode = "bridged"
	if err := parent.SendChildArgs(args); !errors.Is(err, ErrInvalid) {
		t.Fatalf("SendChildArgs with mode bridged: %v, want ErrInvalid", err)
	}
}

func TestMaxPayload(t *testing.T) {
	parent, child, err := NewParentChildSocket()
	if err != nil {
		t.Fatal(err)
	}
	defer parent.Close()
	defer child.Close()
	if err := parent.SetMaxPayload(0); err == nil {
		t.Fatal("SetMaxPayload(0) accepted")
	}
	if err := parent.SetMaxPayload(16); err != nil {
		t.Fatal(err)
	}
	if err := parent.SendChildArgs(exampleArgs()); !errors.Is(err, ErrTooBig) {
		t.Fatalf("SendChildArgs over the limit: %v, want ErrTooBig", err)
	}
}

// RecvChildArgs reports a frame it cannot use to the parent, also when the
// frame broke the stream, and only once.
func TestRecvChildArgsReportsBadMagic(t *testing.T) {
	parent, child, err := NewParentChildSocket()
	if err != nil {
		t.Fatal(err)
	}
	defer parent.Close()
	defer child.Close()
	parent.SetTimeout(10 * time.Second)
	child.SetTimeout(10 * time.Second)
	hdr := make([]byte, HeaderSize)
	copy(hdr, "XIPC")
	hdr[4] = Version
	if _, err := parent.file.Write(hdr); err != nil {
		t.Fatal(err)
	}
	_, err = child.RecvChildArgs()
	want := `recv args: bad magic 58 49 50 43 (expected "DIPC")`
	if !errors.Is(err, ErrProto) || err == nil || err.Error() != want {
		t.Fatalf("RecvChildArgs: %v, want ErrProto %q", err, want)
	}
	_, err = parent.RecvPty()
	ce := parent.ChildError()
	if !errors.Is(err, ErrChild) || ce == nil || ce.Stage != StageArgs || ce.Errno != 0 ||
		ce.Message != `cannot use the arguments: bad magic 58 49 50 43 (expected "DIPC")` {
		t.Fatalf("RecvPty: %v, ChildError %+v, want the report at stage args", err, ce)
	}
	// The stream stays broken for a receive, and that is not reported again.
	if _, err := child.RecvChildArgs(); !errors.Is(err, ErrClosed) {
		t.Fatalf("RecvChildArgs again: %v, want ErrClosed", err)
	}
	child.Close()
	if _, err := parent.RecvPty(); !errors.Is(err, io.EOF) {
		t.Fatalf("RecvPty after the child closed: %v, want io.EOF (no second report)", err)
	}
}
