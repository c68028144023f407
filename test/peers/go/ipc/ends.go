// SPDX-License-Identifier: Apache-2.0

package ipc

import (
	"errors"
	"os"
	"syscall"
	"unicode/utf8"
	"unsafe"

	pb "dropipc/v1"
)

// Parent is the parent's end, in the launcher.
type Parent struct {
	c *conn
	// The setup failure the child last reported, after DROPIPC_ECHILD.
	ChildError *pb.ChildError
}

// Child is the child's end, in the sandbox.
type Child struct {
	c *conn
}

// NewParentChildSocket creates the channel: the parent's end, and the file
// to hand to the child as fd 3 (the caller closes it once the child runs).
func NewParentChildSocket() (*Parent, *os.File, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, err
	}
	p, err := NewParent(os.NewFile(uintptr(fds[0]), "dropipc parent"))
	if err != nil {
		syscall.Close(fds[1])
		return nil, nil, err
	}
	return p, os.NewFile(uintptr(fds[1]), "dropipc child"), nil
}

// NewParent adopts f as the parent's end (f is closed; the end has a copy).
func NewParent(f *os.File) (*Parent, error) {
	c, err := newConn(f)
	if err != nil {
		return nil, err
	}
	return &Parent{c: c}, nil
}

// NewChild adopts f, usually os.NewFile(ChildFd, ...), as the child's end.
// The end's copy is close-on-exec, so the parent sees end-of-stream exactly
// when the child's exec succeeds.
func NewChild(f *os.File) (*Child, error) {
	c, err := newConn(f)
	if err != nil {
		return nil, err
	}
	return &Child{c: c}, nil
}

func (p *Parent) Close() error              { return p.c.close() }
func (p *Parent) SetTimeout(ms int) error   { return p.c.setTimeout(ms) }
func (p *Parent) SetMaxPayload(n int) error { return p.c.setMaxPayload(n) }
func (ch *Child) Close() error              { return ch.c.close() }
func (ch *Child) SetTimeout(ms int) error   { return ch.c.setTimeout(ms) }
func (ch *Child) SetMaxPayload(n int) error { return ch.c.setMaxPayload(n) }

// SendChildArgs validates args and sends them to the child.
func (p *Parent) SendChildArgs(args *pb.ChildArgs) error {
	if err := p.c.begin("send child args"); err != nil {
		return err
	}
	if err := Validate(args); err != nil {
		return p.c.fail(Name(err), "%s", err.(*Error).Msg)
	}
	return p.c.sendEnvelope(&pb.Envelope{Body: &pb.Envelope_ChildArgs{ChildArgs: args}}, nil)
}

// RecvPty waits for the child's pty master, checked to be one.
func (p *Parent) RecvPty() (*os.File, error) {
	p.ChildError = nil
	if err := p.c.begin("recv pty"); err != nil {
		return nil, err
	}
	pty := &pb.PtyHandoff{}
	fds, err := p.c.recvMessage("pty", pty)
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			p.ChildError = e.ChildError
		}
		return nil, err
	}
	fd := -1
	if len(fds) != 1 {
		err = p.c.fail("DROPIPC_EPROTO", "expected 1 fd, got %d", len(fds))
	}
	if err == nil {
		fd, err = p.c.claim(fds, pty.MasterFd, "master_fd")
	}
	if ferr := p.c.finish(fds); err == nil {
		err = ferr
	}
	if err == nil {
		err = p.checkPtyMaster(fd)
	}
	if err != nil {
		if fd >= 0 {
			syscall.Close(fd)
		}
		return nil, err
	}
	return os.NewFile(uintptr(fd), "pty master"), nil
}

// WaitExec, after the pty, returns when the channel closes (the child's exec
// succeeded), or DROPIPC_ECHILD if the child reports a late failure.
func (p *Parent) WaitExec() error {
	if err := p.c.begin("wait exec"); err != nil {
		return err
	}
	ce := &pb.ChildError{}
	fds, err := p.c.recvMessage("error", ce)
	if Name(err) == "DROPIPC_EOF" {
		return nil
	}
	if err != nil {
		return err
	}
	closeFds(fds)
	p.ChildError = ce
	return p.c.childFailed(ce)
}

func ioctl(fd int, req uintptr, arg uintptr) syscall.Errno {
	_, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, arg)
	return e
}

func (p *Parent) checkPtyMaster(fd int) error {
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		name, text := errnoName(err)
		return p.c.fail(name, "fstat pty master: %s", text)
	}
	var n uint32
	if st.Mode&syscall.S_IFMT == syscall.S_IFCHR &&
		ioctl(fd, syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))) == 0 {
		return nil
	}
	kind := map[uint32]string{
		syscall.S_IFREG: "a regular file", syscall.S_IFDIR: "a directory",
		syscall.S_IFIFO: "a pipe", syscall.S_IFSOCK: "a socket",
		syscall.S_IFBLK: "a block device", syscall.S_IFCHR: "a character device",
	}[st.Mode&syscall.S_IFMT]
	if kind == "" {
		kind = "of unknown type"
	}
	return p.c.fail("DROPIPC_ENOTPTY", "the fd sent as pty master is %s, not a pty master", kind)
}

// RecvChildArgs waits for the parent's arguments and validates them.
func (ch *Child) RecvChildArgs() (*pb.ChildArgs, error) {
	c := ch.c
	if err := c.begin("recv child args"); err != nil {
		return nil, err
	}
	args := &pb.ChildArgs{}
	fds, err := c.recvMessage("child_args", args)
	if Name(err) == "DROPIPC_ECHILD" {
		return nil, c.fail("DROPIPC_EPROTO", "expected a child_args message, got error")
	}
	if err != nil {
		return nil, err
	}
	if err := c.finish(fds); err != nil {
		return nil, err
	}
	if err := Validate(args); err != nil {
		return nil, c.fail(Name(err), "%s", err.(*Error).Msg)
	}
	return args, nil
}

// SendPty hands the pty master to the parent; master stays the caller's.
func (ch *Child) SendPty(master *os.File) error {
	if err := ch.c.begin("send pty"); err != nil {
		return err
	}
	env := &pb.Envelope{Body: &pb.Envelope_Pty{Pty: &pb.PtyHandoff{MasterFd: 0}}}
	return ch.c.sendEnvelope(env, []int{int(master.Fd())})
}

// SendError reports a setup failure to the parent; the text is cut at
// MaxErrorText bytes.
func (ch *Child) SendError(stage pb.ChildError_Stage, errno int32, msg string) error {
	if err := ch.c.begin("send error"); err != nil {
		return err
	}
	if len(msg) > MaxErrorText {
		msg = msg[:MaxErrorText]
		for len(msg) > 0 && !utf8.ValidString(msg) {
			msg = msg[:len(msg)-1]
		}
	}
	e := &pb.ChildError{Stage: stage, ErrnoValue: errno, Message: msg}
	return ch.c.sendEnvelope(&pb.Envelope{Body: &pb.Envelope_Error{Error: e}}, nil)
}
