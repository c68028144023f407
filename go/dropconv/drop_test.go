// SPDX-License-Identifier: Apache-2.0 OR MIT

package dropconv

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/libdropipc/libdropipc/go/dropconv/internal/config"
	"github.com/libdropipc/libdropipc/go/dropconv/internal/jailfs"
	"github.com/libdropipc/libdropipc/go/ipc"
)

// ChildArgs is Drop's own ipc.ChildArgs (v0.1.5), which Drop's run.go and
// ipc_test.go build.
type ChildArgs struct {
	EnvId    string
	Paths    *jailfs.Paths
	Config   *config.Config
	ExecArgs []string
}

// send and recv are Drop's SendChildArgs and RecvChildArgs through go/ipc
// and the converters: what Drop's call sites become.
func send(p *ipc.ParentEnd, a ChildArgs) error {
	args, err := ToIPC(a.EnvId, a.Paths, a.Config, a.ExecArgs)
	if err != nil {
		return err
	}
	return p.SendChildArgs(args)
}

func recv(c *ipc.ChildEnd) (*ChildArgs, error) {
	args, err := c.RecvChildArgs()
	if err != nil {
		return nil, err
	}
	var a ChildArgs
	a.EnvId, a.Paths, a.Config, a.ExecArgs = FromIPC(args)
	return &a, nil
}

// openPty opens a pty pair from /dev/ptmx: the master and its slave.
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
		return nil, nil, e
	}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, master.Fd(), syscall.TIOCGPTN,
		uintptr(unsafe.Pointer(&n))); e != 0 {
		master.Close()
		return nil, nil, e
	}
	slave, err = os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		master.Close()
		return nil, nil, err
	}
	return master, slave, nil
}

// Drop's TestParentChildCommunication (internal/ipc/ipc_test.go, v0.1.5),
// its types renamed and its calls through the converters. One change: Drop
// sends a temp file as the "pty", which go/ipc refuses (its pty check
// stays, see below); the child here writes into a real pty's slave and
// sends the master.
func TestParentChildCommunication(t *testing.T) {
	fcontent := "hello from child"

	parentEnd, childEnd, err := ipc.NewParentChildSocket()
	if err != nil {
		t.Fatalf("NewParentChildSocket: %v", err)
	}

	sentArgs := ChildArgs{
		EnvId: "test-env",
		Paths: &jailfs.Paths{
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
		Config: &config.Config{
			Extends: "base.toml",
			Mounts: []config.Mount{
				{Source: "~/docs", Target: "~/docs", RW: false, Overlay: true},
				{Source: "~/projects", Target: "~/projects", RW: true, Overlay: false},
			},
			BlockedPaths: []string{"/root", "/mnt"},
			Environ: config.Environ{
				ExposedVars: []string{"PATH", "HOME", "TERM"},
				SetVars:     []config.EnvVar{{Name: "FOO", Value: "bar"}},
			},
			Net: config.Net{
				Mode: "isolated",
				TCPPublishedPorts: []config.PublishedPort{
					{HostPort: 8080, GuestPort: 3000},
					{HostPort: 8082, GuestPort: 3003},
				},
			},
		},
		ExecArgs: []string{"ls", "-al"},
	}

	done := make(chan error, 1)
	go func() {
		defer childEnd.Close()
		receivedArgs, err := recv(childEnd)
		if err != nil {
			done <- err
			return
		}
		if !reflect.DeepEqual(receivedArgs, &sentArgs) {
			done <- fmt.Errorf("received args differ from sent args:\ngot:  %+v\nwant: %+v", receivedArgs, &sentArgs)
			return
		}
		master, slave, err := openPty()
		if err != nil {
			done <- err
			return
		}
		defer master.Close()
		defer slave.Close()
		if _, err := slave.WriteString(fcontent); err != nil {
			done <- err
			return
		}
		if err := childEnd.SendPty(master); err != nil {
			done <- err
			return
		}
		done <- nil
	}()

	if err := send(parentEnd, sentArgs); err != nil {
		t.Fatalf("SendChildArgs: %v", err)
	}

	received, err := parentEnd.RecvPty()
	if err != nil {
		t.Errorf("RecvPty: %v", err)
	} else {
		defer received.Close()

		buf := make([]byte, 100)
		n, err := received.Read(buf)
		if err != nil {
			t.Fatalf("Read from received fd: %v", err)
		}
		if got := string(buf[:n]); got != fcontent {
			t.Fatalf("got %q, want %q", got, fcontent)
		}
	}

	if err := parentEnd.Close(); err != nil {
		t.Fatalf("parent Close: %v", err)
	}

	if err := <-done; err != nil {
		t.Fatalf("child goroutine: %v", err)
	}
}

// The one part of Drop's test that go/ipc does not pass as Drop wrote it:
// a temp file sent as the pty is refused, on purpose (a parent that relays
// a regular file, a pipe or a socket as the user's terminal could be
// driven by the sandbox).
func TestTempFileAsPtyRefused(t *testing.T) {
	parentEnd, childEnd, err := ipc.NewParentChildSocket()
	if err != nil {
		t.Fatal(err)
	}
	defer parentEnd.Close()
	parentEnd.SetTimeout(10 * time.Second)
	ftmp, err := os.CreateTemp("", "drop-ipc-test")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(ftmp.Name())
	defer ftmp.Close()
	if err := childEnd.SendPty(ftmp); err != nil {
		t.Fatal(err)
	}
	childEnd.Close()
	_, err = parentEnd.RecvPty()
	if !errors.Is(err, ipc.ErrNotPty) ||
		err.Error() != "recv pty: the fd sent as pty master is a regular file, not a pty master" {
		t.Fatalf("RecvPty of a temp file: %v, want ErrNotPty", err)
	}
}

// dropDefault is the configuration Drop writes by default (config.WriteBase
// of v0.1.5, as its reader parses it, every mount present), with the
// published ports Drop documents as its default: tcp_published_ports =
// ["auto"] (every port, pasta's auto).
func dropDefault() *config.Config {
	var mounts []config.Mount
	for _, m := range []string{"~/.ackrc", "~/.emacs", "~/.profile", "~/.gitconfig", "~/go",
		"~/.nvm", "~/.screenrc", "~/.bashrc", "~/.bash_logout", "~/.bash_profile", "~/.zshenv",
		"~/.zlogin", "~/.zprofile", "~/.zlogout", "~/.zshrc"} {
		mounts = append(mounts, config.Mount{Source: m, Target: m})
	}
	for _, d := range []string{"bin", "include", "lib"} {
		mounts = append(mounts, config.Mount{Source: "~/.local/" + d, Target: "~/.local-host/" + d})
	}
	return &config.Config{
		Mounts: mounts,
		Environ: config.Environ{
			ExposedVars: []string{"XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME",
				"XDG_DATA_DIRS", "XDG_CONFIG_DIRS", "XDG_CACHE_HOME", "XDG_RUNTIME_DIR", "SHELL",
				"LC_*", "XTERM_SHELL", "EDITOR", "PWD", "LOGNAME", "HOME", "LANG", "LESSCLOSE",
				"LESSOPEN", "LS_COLORS", "XTERM_LOCALE", "TERM", "USER", "SHLVL", "PATH"},
			SetVars: []config.EnvVar{
				{Name: "debian_chroot", Value: "drop"},
				{Name: "PATH", Value: "${PATH}:${HOME}/.local-host/bin"},
			},
		},
		Net: config.Net{
			Mode:              "isolated",
			TCPPublishedPorts: []config.PublishedPort{{Auto: true}},
		},
	}
}

// Drop's default configuration goes through go/ipc and back unchanged,
// port auto included; so do Drop's other port forms.
func TestDropDefaultConfigRoundTrip(t *testing.T) {
	for _, cfg := range []*config.Config{dropDefault(), func() *config.Config {
		c := dropDefault()
		c.Net.TCPPublishedPorts = []config.PublishedPort{{HostIP: "127.0.0.1", HostPort: 8080,
			GuestPort: 8000}, {HostIP: "0.0.0.0", HostPort: 80, GuestPort: 80}, {Auto: true}}
		c.Net.UDPPublishedPorts = []config.PublishedPort{{Auto: true}}
		c.Net.TCPHostPorts = []config.HostPort{{HostPort: 5432, GuestPort: 5432}, {Auto: true}}
		c.Net.UDPHostPorts = []config.HostPort{{Auto: true}}
		return c
	}()} {
		parentEnd, childEnd, err := ipc.NewParentChildSocket()
		if err != nil {
			t.Fatal(err)
		}
		sent := ChildArgs{EnvId: "myproject-a1b2c3", Paths: &jailfs.Paths{Cwd: "/home/alice/p"},
			Config: cfg}
		if err := send(parentEnd, sent); err != nil {
			t.Fatalf("send Drop's default config: %v", err)
		}
		got, err := recv(childEnd)
		parentEnd.Close()
		childEnd.Close()
		if err != nil {
			t.Fatalf("receive Drop's default config: %v", err)
		}
		if !reflect.DeepEqual(got, &sent) {
			t.Fatalf("round trip:\ngot:  %+v\nwant: %+v", got.Config, sent.Config)
		}
	}
}

// A port go/ipc cannot hold is an error, not a wrapped number.
func TestPortOutOfRange(t *testing.T) {
	cfg := dropDefault()
	cfg.Net.TCPHostPorts = []config.HostPort{{HostPort: 70000, GuestPort: 1}}
	_, err := ToIPC("e", &jailfs.Paths{}, cfg, nil)
	if err == nil || err.Error() != "net.tcp_host_ports[0].host_port: 70000 is not in 0..65535" {
		t.Fatalf("ToIPC with port 70000: %v", err)
	}
}
