// SPDX-License-Identifier: Apache-2.0 OR MIT

// Command dropipc-peer-go is the Go peer as a program, with the demo's
// contract:
//
//	dropipc-peer-go parent [--timeout MS] [--jail DIR] [--child PROGRAM [ARGS...]] [-- COMMAND...]
//	dropipc-peer-go child
//
// The parent starts the child (this program's child by default) with the
// channel as fd 3 and its own stdin, stdout and stderr, sends the example
// ChildArgs (pty PTY_AUTO; its own working directory as paths.cwd; at a
// terminal, its size) and exits with the child's exit code. At a terminal
// (fd 0, 1 or 2 is one) the child sends a pty whose slave replaces only
// the fds that are terminals; the parent relays its stdin to the master
// and the master to its stdout until EIO. Otherwise the child sends none
// and the command uses the parent's stdin, stdout and stderr itself.
// The child runs the command in paths.cwd (else host_home, else /), with
// the environment PROTOCOL.md describes (exposed variables, then set ones,
// $VAR expanded, an empty value removed, DROP_ENV).
// Without a COMMAND the child runs $SHELL of the new environment (else
// /bin/sh), looked up, as every command, in that environment's PATH only.
// Handshake failures print one line,
// "dropipc-peer-go: WHAT FAILED [CLASS]" (for a child's report
// "dropipc-peer-go: child setup failed at STAGE: TEXT"), and exit 125.
// DROPIPC_DUMP_SENT and DROPIPC_DUMP_ARGS name files for the dumps.
//
// --jail DIR: Drop's real setup instead of the example: the state laid out
// under DIR (as the C demo does), the child started in new user, mount,
// PID, IPC, cgroup and network namespaces with Drop's id maps and ambient
// capabilities, network off. For a child that builds the jail.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
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

// exampleArgs sets every field of the schema, most to non-default values
// (term_size only at a terminal); paths.cwd is the parent's own working
// directory, whatever bytes it holds.
func exampleArgs(command []string) ipc.ChildArgs {
	cwd, err := os.Getwd()
	if err != nil {
		cwd = home + "/cwd"
	}
	return ipc.ChildArgs{
		EnvId: "test-env",
		Paths: &ipc.Paths{
			Cwd: cwd, DropHome: home, Env: home + "/envs/test-env",
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
				UDPPublishedPorts: []ipc.PublishedPort{{Auto: true}, {HostIP: "::1", HostPort: 5353, GuestPort: 5353}},
				TCPHostPorts:      []ipc.HostPort{{HostPort: 5432, GuestPort: 15432}},
				UDPHostPorts:      []ipc.HostPort{{HostPort: 53, GuestPort: 53}, {Auto: true}},
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
		// The text comes sanitized (newline and tab kept): on our one
		// line they become '?' too, as the demo shows them.
		msg := strings.NewReplacer("\n", "?", "\t", "?").Replace(e.Child.Message)
		die(fmt.Sprintf("child setup failed at %s: %s", e.Child.Stage, msg), "")
	}
	die(err.Error(), ipc.Name(err))
}

func parent(argv []string) {
	timeout := -1
	var child, command []string
	jail := ""
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
		case "--jail":
			if i+1 >= len(argv) {
				die("--jail needs a directory", "")
			}
			jail = argv[i+1]
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
	// No command: the child runs the user's shell.

	end, childEnd, err := ipc.NewParentChildSocket()
	if err != nil {
		die("socketpair: "+err.Error(), "")
	}
	end.SetTimeout(time.Duration(timeout) * time.Millisecond)
	cmd := exec.Command(child[0], child[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.ExtraFiles = []*os.File{childEnd.Socket} // fd 3
	args := exampleArgs(command)
	if jail != "" {
		if args, err = jailArgs(jail, command); err != nil {
			die(err.Error(), "")
		}
		cmd.SysProcAttr = jailAttr()
	}
	tty := isatty(0) || isatty(1) || isatty(2)
	if tty {
		args.TermSize = termSize()
	}
	if err := cmd.Start(); err != nil {
		die("start child: "+err.Error(), "")
	}
	childEnd.Close()
	if err := handshake(end, args, tty); err != nil {
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

// jailArgs lays out Drop's state under dir, as the C demo does
// (cmd/demo/layout.c), and returns ChildArgs naming it.
func jailArgs(dir string, command []string) (ipc.ChildArgs, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return ipc.ChildArgs{}, err
	}
	cwd, err := os.Getwd()
	if err != nil {
		return ipc.ChildArgs{}, err
	}
	hostHome := os.Getenv("HOME")
	if !filepath.IsAbs(hostHome) {
		hostHome = "/"
	}
	env := dir + "/envs/jail-test"
	run := dir + "/internal/run/jail-test"
	p := &ipc.Paths{
		Cwd: cwd, DropHome: dir, Env: env, FsRoot: run + "/root", HostHome: hostHome,
		Home: env + "/home", Etc: env + "/etc", Var: env + "/var", Tmp: run + "/tmp", Run: run,
		EmptyDir: dir + "/internal/empty_dir", EmptyFile: dir + "/internal/empty_file",
	}
	dirs := []struct {
		path string
		mode os.FileMode
	}{{p.Home, 0o700}, {p.Etc, 0o755}, {p.Var, 0o755}, {p.FsRoot, 0o755},
		{p.Tmp, 0o777 | os.ModeSticky}, {p.EmptyDir, 0}}
	for _, d := range dirs {
		if err := os.MkdirAll(d.path, 0o700); err != nil {
			return ipc.ChildArgs{}, err
		}
		if err := os.Chmod(d.path, d.mode); err != nil {
			return ipc.ChildArgs{}, err
		}
	}
	f, err := os.OpenFile(p.EmptyFile, os.O_WRONLY|os.O_CREATE, 0)
	if err != nil {
		return ipc.ChildArgs{}, err
	}
	f.Close()
	return ipc.ChildArgs{
		EnvId: "jail-test",
		Paths: p,
		Config: &ipc.Config{
			Environ: ipc.Environ{ExposedVars: []string{"PATH", "HOME"}},
			Net:     ipc.Net{Mode: ipc.NetOff},
		},
		ExecArgs: command,
	}, nil
}

// jailAttr starts the child as Drop does: new user, mount, PID, IPC and
// cgroup namespaces and a network namespace (network off), our uid and gid
// mapped to themselves, setgroups denied, and the ambient capabilities the
// child needs to build the jail (it drops them before its exec).
func jailAttr() *syscall.SysProcAttr {
	const (
		capDacOverride = 1
		capFowner      = 3
		capNetAdmin    = 12
		capSysAdmin    = 21
		cloneNewCgroup = 0x02000000 // not in package syscall
	)
	uid, gid := os.Getuid(), os.Getgid()
	return &syscall.SysProcAttr{
		Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID |
			syscall.CLONE_NEWIPC | cloneNewCgroup | syscall.CLONE_NEWNET,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}},
		GidMappingsEnableSetgroups: false,
		AmbientCaps:                []uintptr{capSysAdmin, capDacOverride, capFowner, capNetAdmin},
		Pdeathsig:                  syscall.SIGKILL,
	}
}

// termSize is the size of the first of fds 0-2 that is a terminal.
func termSize() *ipc.TermSize {
	for fd := 0; fd < 3; fd++ {
		var ws struct{ Row, Col, X, Y uint16 }
		_, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TIOCGWINSZ,
			uintptr(unsafe.Pointer(&ws)))
		if e == 0 {
			return &ipc.TermSize{Rows: uint32(ws.Row), Cols: uint32(ws.Col),
				XPixels: uint32(ws.X), YPixels: uint32(ws.Y)}
		}
	}
	return nil
}

func isatty(fd int) bool {
	var t syscall.Termios
	_, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TCGETS,
		uintptr(unsafe.Pointer(&t)))
	return e == 0
}

// handshake sends args, relays the pty when the child sends one (tty) and
// waits for the child's exec.
func handshake(end *ipc.ParentEnd, args ipc.ChildArgs, tty bool) error {
	if err := writeDumpEnv("DROPIPC_DUMP_SENT", &args); err != nil {
		return err
	}
	if err := end.SendChildArgs(args); err != nil {
		return err
	}
	if !tty {
		return end.WaitExec()
	}
	master, err := end.RecvPty()
	if err != nil {
		return err
	}
	// Our stdin goes to the command through the pty (when it reads it).
	go io.Copy(master, os.Stdin)
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

// newEnviron is the command's environment as PROTOCOL.md says ("What a
// child does with ChildArgs"): the variables of ours that a pattern of
// exposed_vars matches; then each of set_vars replaces its variable,
// $VAR and ${VAR} expanded from ours (an empty value removes it); then
// DROP_ENV=env_id unless set_vars names it.
func newEnviron(args *ipc.ChildArgs) []string {
	e := args.Config.Environ
	var env []string
	for _, kv := range os.Environ() {
		name := kv[:strings.IndexByte(kv+"=", '=')]
		for _, pat := range e.ExposedVars {
			if ok, _ := path.Match(pat, name); ok {
				env = append(env, kv)
				break
			}
		}
	}
	dropEnv := false
	for _, v := range e.SetVars {
		dropEnv = dropEnv || v.Name == "DROP_ENV"
		env = unsetenv(env, v.Name)
		if v.Value != "" {
			env = append(env, v.Name+"="+expand(v.Value))
		}
	}
	if !dropEnv {
		env = append(env, "DROP_ENV="+args.EnvId)
	}
	return env
}

func unsetenv(env []string, name string) []string {
	out := env[:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

var varRef = regexp.MustCompile(`\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))`)

// expand replaces $VAR and ${VAR} from our environment (an unset one by
// nothing); a '$' that starts no name stays, as the C child does.
func expand(v string) string {
	return varRef.ReplaceAllStringFunc(v, func(ref string) string {
		m := varRef.FindStringSubmatch(ref)
		return os.Getenv(m[1] + m[2])
	})
}

// chdir goes to paths.cwd, else host_home, else / (no jail: the host's).
func chdir(p *ipc.Paths) {
	for _, d := range []string{p.Cwd, p.HostHome, "/"} {
		if os.Chdir(d) == nil {
			return
		}
	}
}

// getenv is the last value of name in env, "" if none.
func getenv(env []string, name string) string {
	v := ""
	for _, kv := range env {
		if strings.HasPrefix(kv, name+"=") {
			v = kv[len(name)+1:]
		}
	}
	return v
}

// lookPath finds name in the PATH of env (none: not found), as execvp.
func lookPath(name string, env []string) (string, error) {
	if strings.Contains(name, "/") {
		return name, nil
	}
	if getenv(env, "PATH") == "" {
		return "", syscall.ENOENT
	}
	for _, dir := range strings.Split(getenv(env, "PATH"), ":") {
		if dir == "" {
			dir = "." // as execvp and Go's LookPath: the working directory
		}
		p := dir + "/" + name
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", syscall.ENOENT
}

func child() {
	end := ipc.NewChildEnd(ipc.ChildFd)
	// RecvChildArgs reports arguments it cannot use to the parent itself.
	args, err := end.RecvChildArgs()
	if err != nil {
		die(err.Error(), ipc.Name(err))
	}
	if err := writeDumpEnv("DROPIPC_DUMP_ARGS", args); err != nil {
		die(err.Error(), "")
	}
	env := newEnviron(args)
	chdir(args.Paths)
	argv := args.ExecArgs
	if len(argv) == 0 {
		// No command: the user's shell, $SHELL of the new environment.
		sh := getenv(env, "SHELL")
		if sh == "" {
			sh = "/bin/sh"
		}
		argv = []string{sh}
	}
	name := argv[0]
	path, err := lookPath(name, env)
	if err != nil {
		childFail(end, ipc.StageExec, syscall.ENOENT,
			fmt.Sprintf("execvp %s: %s", name, strerror(syscall.ENOENT)), "")
	}
	// Already a session leader when the parent's spawn made the session.
	if _, err := syscall.Setsid(); err != nil {
		if sid, _, _ := syscall.RawSyscall(syscall.SYS_GETSID, 0, 0, 0); int(sid) != os.Getpid() {
			childFail(end, ipc.StagePty, err.(syscall.Errno), "setsid: "+err.Error(), "")
		}
	}
	// PtyAuto, Drop's rule: a pty only when one of fds 0-2 is a terminal,
	// and only those that are get its slave; the others stay what the
	// parent gave.
	var onto []int
	for fd := 0; fd < 3; fd++ {
		if args.Pty == ipc.PtyAlways || (args.Pty != ipc.PtyNever && isatty(fd)) {
			onto = append(onto, fd)
		}
	}
	if len(onto) > 0 {
		childPty(end, onto, args.TermSize)
	}
	if err := end.ConfirmExec(); err != nil {
		die(err.Error(), ipc.Name(err))
	}
	err = syscall.Exec(path, argv, env)
	childFail(end, ipc.StageExec, err.(syscall.Errno),
		fmt.Sprintf("execvp %s: %s", name, strerror(err)), "")
}

// childPty sends a new pty's master and makes its slave the controlling
// terminal and the fds onto.
func childPty(end *ipc.ChildEnd, onto []int, size *ipc.TermSize) {
	master, slave, err := openPty()
	if err != nil {
		childFail(end, ipc.StagePty, 0, "open pty: "+err.Error(), "")
	}
	if size != nil && size.Rows != 0 && size.Cols != 0 {
		ws := struct{ Row, Col, X, Y uint16 }{uint16(size.Rows), uint16(size.Cols),
			uint16(size.XPixels), uint16(size.YPixels)}
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, slave.Fd(), syscall.TIOCSWINSZ,
			uintptr(unsafe.Pointer(&ws))); e != 0 {
			childFail(end, ipc.StagePty, e, "TIOCSWINSZ: "+e.Error(), "")
		}
	}
	if err := end.SendPty(master); err != nil {
		die(err.Error(), ipc.Name(err))
	}
	master.Close()
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, slave.Fd(), syscall.TIOCSCTTY, 0); e != 0 {
		childFail(end, ipc.StagePty, e, "TIOCSCTTY: "+e.Error(), "")
	}
	for _, fd := range onto {
		if err := syscall.Dup3(int(slave.Fd()), fd, 0); err != nil {
			childFail(end, ipc.StagePty, err.(syscall.Errno), "dup3: "+err.Error(), "")
		}
	}
	slave.Close()
}

func main() {
	switch {
	case len(os.Args) >= 2 && os.Args[1] == "parent":
		parent(os.Args[2:])
	case len(os.Args) == 2 && os.Args[1] == "child":
		child()
	default:
		fmt.Fprintf(os.Stderr, "usage: %s parent [--timeout MS] [--jail DIR] [--child PROGRAM [ARGS...]] [-- COMMAND...]\n"+
			"       %s child\n", prog, prog)
		os.Exit(2)
	}
}
