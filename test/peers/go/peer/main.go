// SPDX-License-Identifier: Apache-2.0

// Command dropipc-peer-go is the Go peer as a program, with the demo's
// contract:
//
//	dropipc-peer-go parent [--timeout MS] [--child PROGRAM [ARGS...]] [-- COMMAND...]
//	dropipc-peer-go child
//
// The parent starts the child (this program's child by default) with the
// channel as fd 3, sends the example ChildArgs, relays the pty the child
// hands back to stdout until EIO and exits with the child's exit code.
// Handshake failures print one line, "dropipc-peer-go: WHAT FAILED [CLASS]"
// (for a child's report "dropipc-peer-go: child setup failed at STAGE:
// TEXT"), and exit 125. DROPIPC_DUMP_SENT and DROPIPC_DUMP_ARGS name files
// for the dumps.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"

	"github.com/libdropipc/libdropipc/go/ipc"
)

const (
	prog          = "dropipc-peer-go"
	exitHandshake = 125
	home          = "/home/alice/.local/share/drop"
)

// exampleArgs sets every field of the schema, most to non-default values.
func exampleArgs(command []string) ipc.ChildArgs {
	return ipc.ChildArgs{
		EnvId: "test-env",
		Paths: &ipc.Paths{
			Cwd: home + "/cwd", DropHome: home, Env: home + "/envs/test-env",
			FsRoot: home + "/internal/run/test-env/root", HostHome: "/home/alice",
			Home: home + "/envs/test-env/home", Etc: home + "/envs/test-env/etc",
			Var: home + "/envs/test-env/var", Tmp: home + "/internal/run/test-env/tmp",
			Run: home + "/internal/run/test-env", EmptyDir: home + "/internal/emptydir",
			EmptyFile: home + "/internal/emptyfile",
		},
		Config: &ipc.Config{
			Extends: "base",
			Mounts: []ipc.Mount{
				{Source: "~/docs", Target: "~/docs", RW: false, Overlay: true},
				{Source: "~/projects", Target: "~/projects", RW: true, Overlay: true},
			},
			BlockedPaths: []string{"/root", "/mnt"},
			Environ: ipc.Environ{
				ExposedVars: []string{"PATH", "HOME", "LC_*"},
				SetVars: []ipc.EnvVar{
					{Name: "FOO", Value: "bar"},
					{Name: "ODD", Value: "tab\there \\ nl\n del\x7f caf\u00e9"},
				},
			},
			Net: ipc.Net{
				Mode: ipc.NetIsolated,
				TCPPublishedPorts: []ipc.PublishedPort{
					{HostPort: 8080, GuestPort: 3000},
					{HostIP: "127.0.0.1", HostPort: 8082, GuestPort: 3003},
				},
				UDPPublishedPorts: []ipc.PublishedPort{{Auto: true, HostIP: "::1", GuestPort: 5353}},
				TCPHostPorts:      []ipc.HostPort{{HostPort: 5432, GuestPort: 15432}},
				UDPHostPorts:      []ipc.HostPort{{Auto: true, HostPort: 53}},
			},
		},
		ExecArgs: command,
	}
}

func die(msg string, name string) {
	if name != "" {
		msg += " [" + name + "]"
	}
	fmt.Fprintf(os.Stderr, "%s: %s\n", prog, msg)
	os.Exit(exitHandshake)
}

func fail(err error) {
	var e *ipc.Error
	if errors.As(err, &e) && e.Child != nil {
		die(fmt.Sprintf("child setup failed at %s: %s", e.Child.Stage, e.Child.Message), "")
	}
	die(err.Error(), ipc.Name(err))
}

func parent(argv []string) {
	timeout := -1
	var child, command []string
	for i := 0; i < len(argv); {
		switch argv[i] {
		case "--timeout":
			if i+1 >= len(argv) {
				die("--timeout needs a value", "")
			}
			t, err := strconv.Atoi(argv[i+1])
			if err != nil {
				die("--timeout: "+err.Error(), "")
			}
			timeout = t
			i += 2
		case "--child":
			j := i + 1
			for j < len(argv) && argv[j] != "--" {
				j++
			}
			child = argv[i+1 : j]
			i = j
		case "--":
			command = argv[i+1:]
			i = len(argv)
		default:
			die("unknown argument "+argv[i], "")
		}
	}
	if len(child) == 0 {
		self, err := os.Executable()
		if err != nil {
			die(err.Error(), "")
		}
		child = []string{self, "child"}
	}
	if len(command) == 0 {
		command = []string{"/bin/sh"}
	}

	end, childEnd, err := ipc.NewParentChildSocket()
	if err != nil {
		die("socketpair: "+err.Error(), "")
	}
	end.SetTimeout(time.Duration(timeout) * time.Millisecond)
	cmd := exec.Command(child[0], child[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{childEnd.Socket} // fd 3
	if err := cmd.Start(); err != nil {
		die("start child: "+err.Error(), "")
	}
	childEnd.Close()
	if err := handshake(end, command); err != nil {
		cmd.Process.Kill()
		cmd.Wait()
		fail(err)
	}
	end.Close()
	err = cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			os.Exit(128 + int(ws.Signal()))
		}
		os.Exit(ee.ExitCode())
	}
	if err != nil {
		die("wait child: "+err.Error(), "")
	}
}

func handshake(end *ipc.ParentEnd, command []string) error {
	args := exampleArgs(command)
	if err := writeDumpEnv("DROPIPC_DUMP_SENT", &args); err != nil {
		return err
	}
	if err := end.SendChildArgs(args); err != nil {
		return err
	}
	master, err := end.RecvPty()
	if err != nil {
		return err
	}
	_, err = io.Copy(os.Stdout, master)
	master.Close()
	// Reading the master fails with EIO once every slave fd is closed.
	if err != nil && !errors.Is(err, syscall.EIO) {
		return err
	}
	return end.WaitExec()
}

// strerror is err's text as C's strerror() writes it ("No such file...").
func strerror(err error) string {
	s := err.Error()
	return strings.ToUpper(s[:1]) + s[1:]
}

func childFail(end *ipc.ChildEnd, stage ipc.Stage, errno syscall.Errno, msg, name string) {
	end.SendError(stage, errno, msg)
	die(msg, name)
}

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

func child() {
	end := ipc.NewChildEnd(ipc.ChildFd)
	args, err := end.RecvChildArgs()
	if err != nil {
		childFail(end, ipc.StageArgs, 0, err.Error(), ipc.Name(err))
	}
	if err := writeDumpEnv("DROPIPC_DUMP_ARGS", args); err != nil {
		die(err.Error(), "")
	}
	name := args.ExecArgs[0]
	path, err := exec.LookPath(name)
	if err != nil {
		childFail(end, ipc.StageExec, syscall.ENOENT,
			fmt.Sprintf("execvp %s: %s", name, strerror(syscall.ENOENT)), "")
	}
	master, slave, err := openPty()
	if err != nil {
		childFail(end, ipc.StagePty, 0, "open pty: "+err.Error(), "")
	}
	if err := end.SendPty(master); err != nil {
		die(err.Error(), ipc.Name(err))
	}
	master.Close()
	if _, err := syscall.Setsid(); err != nil {
		childFail(end, ipc.StagePty, err.(syscall.Errno), "setsid: "+err.Error(), "")
	}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, slave.Fd(), syscall.TIOCSCTTY, 0); e != 0 {
		childFail(end, ipc.StagePty, e, "TIOCSCTTY: "+e.Error(), "")
	}
	for fd := 0; fd < 3; fd++ {
		if err := syscall.Dup3(int(slave.Fd()), fd, 0); err != nil {
			childFail(end, ipc.StagePty, err.(syscall.Errno), "dup3: "+err.Error(), "")
		}
	}
	slave.Close()
	if err := end.ConfirmExec(); err != nil {
		die(err.Error(), ipc.Name(err))
	}
	err = syscall.Exec(path, args.ExecArgs, os.Environ())
	childFail(end, ipc.StageExec, err.(syscall.Errno),
		fmt.Sprintf("execvp %s: %s", name, strerror(err)), "")
}

func main() {
	switch {
	case len(os.Args) >= 2 && os.Args[1] == "parent":
		parent(os.Args[2:])
	case len(os.Args) == 2 && os.Args[1] == "child":
		child()
	default:
		fmt.Fprintf(os.Stderr, "usage: %s parent [--timeout MS] [--child PROGRAM [ARGS...]] [-- COMMAND...]\n"+
			"       %s child\n", prog, prog)
		os.Exit(2)
	}
}
