// SPDX-License-Identifier: Apache-2.0 OR MIT

package ipc

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"
	"unsafe"

	pb "github.com/libdropipc/libdropipc/go/dropipcv1"
)

// end is what both ends share: the socket as a file, and the connection
// made from it at the first send or receive. mu makes Close safe from
// another goroutine while a call is blocked (that call then fails with
// an error that matches net.ErrClosed); the ends are otherwise for one
// goroutine at a time.
type end struct {
	mu         sync.Mutex
	file       *os.File
	closed     bool
	c          *conn
	timeout    time.Duration
	rdl, wdl   time.Time
	maxPayload int
}

func closedError(op string) *Error {
	return newError("DROPIPC_ERR_CLOSED", op+": the end is closed", net.ErrClosed)
}

func (e *end) begin(op string) (*conn, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil, closedError(op)
	}
	if e.c == nil {
		// FileConn works on a close-on-exec copy of the fd.
		nc, err := net.FileConn(e.file)
		if err != nil {
			name, text := errnoName(err)
			return nil, newError(name, fmt.Sprintf("%s: fd %d: %s", op, e.file.Fd(), text), err)
		}
		uc, ok := nc.(*net.UnixConn)
		if !ok {
			nc.Close()
			return nil, newError("ENOTSOCK", fmt.Sprintf("%s: fd %d is not a Unix socket", op, e.file.Fd()),
				syscall.ENOTSOCK)
		}
		e.c = &conn{c: uc}
	}
	c := e.c
	c.timeout, c.rdl, c.wdl, c.maxPayload = e.timeout, e.rdl, e.wdl, e.maxPayload
	return c, c.begin(op)
}

// close closes the end once; a call blocked in another goroutine returns.
func (e *end) close(f *os.File) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return closedError("close")
	}
	e.closed = true
	var err error
	if e.c != nil {
		err = e.c.close()
		e.c = nil
	}
	if f != nil {
		if ferr := f.Close(); err == nil {
			err = ferr
		}
	}
	return err
}

func (e *end) setTimeout(d time.Duration) {
	if d < 0 {
		d = -1
	}
	e.mu.Lock()
	e.timeout = d
	e.mu.Unlock()
}

// setDeadline sets the read (r) and write (w) deadlines; it reaches a call
// already blocked, as net.Conn's does.
func (e *end) setDeadline(t time.Time, r, w bool) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return closedError("set deadline")
	}
	if r {
		e.rdl = t
	}
	if w {
		e.wdl = t
	}
	if e.c != nil {
		if r {
			e.c.c.SetReadDeadline(t)
		}
		if w {
			e.c.c.SetWriteDeadline(t)
		}
	}
	return nil
}

func (e *end) setMaxPayload(n int) error {
	if n < 1 || n > MaxPayloadLimit {
		return newError("EINVAL", fmt.Sprintf("max payload %d: not in 1..%d", n, MaxPayloadLimit),
			syscall.EINVAL)
	}
	e.mu.Lock()
	e.maxPayload = n
	e.mu.Unlock()
	return nil
}

// ParentEnd is the parent's end of the channel, in the launcher.
type ParentEnd struct {
	end
	child *ChildError
}

// ChildEnd is the child's end of the channel, in the sandbox.
type ChildEnd struct {
	end
	// Socket is the child's end as a file: the parent passes it to the
	// child as fd 3 (exec.Cmd.ExtraFiles[0]) and closes its own copy (Close)
	// once the child runs.
	Socket  *os.File
	confirm bool
}

// NewParentChildSocket creates the channel: both ends, close-on-exec.
func NewParentChildSocket() (*ParentEnd, *ChildEnd, error) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, nil, newError(errnoOf(err), "create socket pair: "+err.Error(), err)
	}
	return NewParentEnd(uintptr(fds[0])), NewChildEnd(uintptr(fds[1])), nil
}

func errnoOf(err error) string {
	name, _ := errnoName(err)
	return name
}

// NewParentEnd adopts fd, a connected Unix stream socket, as the parent's
// end (a uintptr, as Drop's NewParentEnd takes).
func NewParentEnd(fd uintptr) *ParentEnd {
	syscall.CloseOnExec(int(fd))
	return &ParentEnd{end: end{file: os.NewFile(fd, "dropipc parent end"),
		timeout: -1, maxPayload: DefaultMaxPayload}}
}

// NewChildEnd adopts fd (ChildFd in the child) as the child's end. It makes
// fd close-on-exec, so that the parent sees end-of-stream exactly when the
// child's exec succeeds.
func NewChildEnd(fd uintptr) *ChildEnd {
	syscall.CloseOnExec(int(fd))
	f := os.NewFile(fd, "dropipc child end")
	return &ChildEnd{end: end{file: f, timeout: -1, maxPayload: DefaultMaxPayload}, Socket: f}
}

// Close closes the end. It may be called from another goroutine while a
// send or receive is blocked: that call then fails with an error that
// matches net.ErrClosed (and ErrClosed), as is every later call. A second
// Close fails the same way.
func (p *ParentEnd) Close() error { return p.close(p.file) }

// Close closes the end (in the parent: its copy of the child's socket),
// as ParentEnd.Close does.
func (ch *ChildEnd) Close() error { return ch.close(ch.file) }

// SetTimeout bounds each whole send or receive; d < 0 (the default) waits
// forever. A receive that times out between frames leaves the end usable.
// A timeout's error matches ErrTimeout and os.ErrDeadlineExceeded.
func (p *ParentEnd) SetTimeout(d time.Duration) { p.setTimeout(d) }

// SetTimeout bounds each whole send or receive, as ParentEnd.SetTimeout.
func (ch *ChildEnd) SetTimeout(d time.Duration) { ch.setTimeout(d) }

// SetDeadline sets an absolute time after which sends and receives fail
// with an error that matches os.ErrDeadlineExceeded (and ErrTimeout), as
// net.Conn's: it applies to a call already blocked, and the zero time
// removes it. With SetTimeout too, the earlier of the two holds.
func (p *ParentEnd) SetDeadline(t time.Time) error { return p.setDeadline(t, true, true) }

// SetReadDeadline is SetDeadline for receives only.
func (p *ParentEnd) SetReadDeadline(t time.Time) error { return p.setDeadline(t, true, false) }

// SetWriteDeadline is SetDeadline for sends only.
func (p *ParentEnd) SetWriteDeadline(t time.Time) error { return p.setDeadline(t, false, true) }

// SetDeadline is ParentEnd.SetDeadline for the child's end.
func (ch *ChildEnd) SetDeadline(t time.Time) error { return ch.setDeadline(t, true, true) }

// SetReadDeadline is SetDeadline for receives only.
func (ch *ChildEnd) SetReadDeadline(t time.Time) error { return ch.setDeadline(t, true, false) }

// SetWriteDeadline is SetDeadline for sends only.
func (ch *ChildEnd) SetWriteDeadline(t time.Time) error { return ch.setDeadline(t, false, true) }

// SetMaxPayload sets the largest payload the end sends or accepts, 1 byte
// to MaxPayloadLimit (default DefaultMaxPayload).
func (p *ParentEnd) SetMaxPayload(n int) error { return p.setMaxPayload(n) }

// SetMaxPayload sets the largest payload the end sends or accepts.
func (ch *ChildEnd) SetMaxPayload(n int) error { return ch.setMaxPayload(n) }

// ChildError is the setup failure the child last reported (after an error
// that is ErrChild), or nil.
func (p *ParentEnd) ChildError() *ChildError { return p.child }

// SendChildArgs validates args and sends them to the child, asking it to
// confirm its exec (see WaitExec).
func (p *ParentEnd) SendChildArgs(args ChildArgs) error {
	c, err := p.begin("send child args")
	if err != nil {
		return err
	}
	msg, err := args.toProto()
	if err == nil {
		err = validate(msg)
	}
	if err != nil {
		return c.fail(Name(err), "%s", err.(*Error).Msg)
	}
	msg.ConfirmExec = true
	return c.sendEnvelope(&pb.Envelope{Body: &pb.Envelope_ChildArgs{ChildArgs: msg}}, nil)
}

func (p *ParentEnd) noteChild(err error) {
	var e *Error
	if errors.As(err, &e) && e.Child != nil {
		p.child = e.Child
	}
}

// RecvPty waits for the child's pty master, checked to be one. The error is
// io.EOF if the child closed the channel first, ErrChild if it reported a
// setup failure (see ChildError), ErrNotPty if the fd is no pty master.
func (p *ParentEnd) RecvPty() (*os.File, error) {
	p.child = nil
	c, err := p.begin("recv pty")
	if err != nil {
		return nil, err
	}
	pty := &pb.PtyHandoff{}
	fds, err := c.recvMessage("pty", pty)
	if err != nil {
		p.noteChild(err)
		return nil, err
	}
	fd := -1
	if len(fds) != 1 {
		err = c.fail("DROPIPC_ERR_PROTO", "expected 1 fd, got %d", len(fds))
	}
	if err == nil {
		fd, err = c.claim(fds, pty.MasterFd, "master_fd")
	}
	if ferr := c.finish(fds); err == nil {
		err = ferr
	}
	if err == nil {
		err = checkPtyMaster(c, fd)
	}
	if err != nil {
		if fd >= 0 {
			syscall.Close(fd)
		}
		return nil, err
	}
	return os.NewFile(uintptr(fd), "pty master"), nil
}

// WaitExec waits for the outcome of the child's exec, after SendChildArgs
// (and RecvPty, if the child sends a pty). It returns nil when the child
// confirmed its exec (ExecConfirm) and then closed the channel: the exec
// succeeded. Otherwise the error is ErrNoExec when the channel closed
// without the confirmation (the child died before its exec, or does not
// confirm), ErrChild when the child reported a failure (see ChildError),
// ErrProto for any other message.
func (p *ParentEnd) WaitExec() error {
	p.child = nil
	c, err := p.begin("wait exec")
	if err != nil {
		return err
	}
	fds, err := c.recvMessage("exec", &pb.ExecConfirm{})
	if err == nil {
		err = c.finish(fds)
	}
	if errors.Is(err, io.EOF) {
		return c.fail("DROPIPC_ERR_NOEXEC", "the child closed the channel without confirming its exec")
	}
	if err != nil {
		p.noteChild(err)
		return err
	}
	// Confirmed: now end-of-stream, or the exec's failure.
	payload, fds, err := c.recvFrame()
	if errors.Is(err, io.EOF) {
		return nil
	}
	if err != nil {
		return err
	}
	closeFds(fds)
	body, data, e := envelopeBody(payload)
	if e != nil {
		return c.fail(e.Name, "%s", e.Msg)
	}
	if body.Name() != "error" {
		return c.fail("DROPIPC_ERR_PROTO", "expected end of stream after the exec confirmation, got %s",
			body.Name())
	}
	ce, err := c.unpackReport(data)
	if err != nil {
		return err
	}
	cerr := c.childFailed(ce)
	p.child = cerr.Child
	return cerr
}

func checkPtyMaster(c *conn, fd int) error {
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		name, text := errnoName(err)
		return c.failCause(err, name, "fstat pty master: %s", text)
	}
	var n uint32
	if st.Mode&syscall.S_IFMT == syscall.S_IFCHR {
		_, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), syscall.TIOCGPTN,
			uintptr(unsafe.Pointer(&n)))
		if e == 0 {
			return nil
		}
	}
	kind := map[uint32]string{
		syscall.S_IFREG: "a regular file", syscall.S_IFDIR: "a directory",
		syscall.S_IFIFO: "a pipe", syscall.S_IFSOCK: "a socket",
		syscall.S_IFBLK: "a block device", syscall.S_IFCHR: "a character device",
	}[st.Mode&syscall.S_IFMT]
	if kind == "" {
		kind = "of unknown type"
	}
	return c.fail("DROPIPC_ERR_NOTPTY", "the fd sent as pty master is %s, not a pty master", kind)
}

// RecvChildArgs waits for the parent's arguments and validates them. The
// error is io.EOF if the parent closed the channel first. Arguments it
// cannot use it reports to the parent itself, as docs/PROTOCOL.md says (a
// ChildError at StageArgs), also when the frame broke the stream.
func (ch *ChildEnd) RecvChildArgs() (*ChildArgs, error) {
	args, err := ch.recvChildArgs()
	if err != nil {
		ch.reportArgsFailure(err)
	}
	return args, err
}

// reportable says whether a failure to receive ChildArgs goes to the parent
// as a report: not when the parent is gone (EOF, ETRUNC, a reset), nor for a
// timeout (the caller may try again), nor on a connection an earlier error
// broke (that one was reported).
func reportable(name string) bool {
	switch name {
	case "DROPIPC_ERR_PROTO", "DROPIPC_ERR_TOOBIG", "DROPIPC_ERR_INVALID", "DROPIPC_ERR_UNSUPPORTED", "ENOMEM":
		return true
	}
	return false
}

// reportArgsFailure tells the parent that its ChildArgs could not be used;
// the error stays the receive's, whatever the report's send gives.
func (ch *ChildEnd) reportArgsFailure(err error) {
	var e *Error
	if !errors.As(err, &e) || !reportable(e.Name) || ch.c == nil {
		return
	}
	// A receive that lost its place in the stream leaves the sending
	// direction as it was: frames still go out whole.
	broken := ch.c.broken
	ch.c.broken = ""
	var errno syscall.Errno
	errors.As(err, &errno)
	ch.SendError(StageArgs, errno, "cannot use the arguments: "+strings.TrimPrefix(e.Msg, "recv args: "))
	if broken != "" {
		ch.c.broken = broken
	}
	ch.c.op = "recv args"
}

func (ch *ChildEnd) recvChildArgs() (*ChildArgs, error) {
	c, err := ch.begin("recv args")
	if err != nil {
		return nil, err
	}
	msg := &pb.ChildArgs{}
	fds, err := c.recvMessage("child_args", msg)
	if errors.Is(err, ErrChild) {
		return nil, c.fail("DROPIPC_ERR_PROTO", "expected the child_args message, got error")
	}
	if err != nil {
		return nil, err
	}
	if err := c.finish(fds); err != nil {
		return nil, err
	}
	if err := validate(msg); err != nil {
		return nil, c.fail(Name(err), "%s", err.(*Error).Msg)
	}
	ch.confirm = msg.ConfirmExec
	return fromProto(msg), nil
}

// SendPty hands the pty master to the parent; master stays the caller's.
func (ch *ChildEnd) SendPty(master *os.File) error {
	c, err := ch.begin("send pty")
	if err != nil {
		return err
	}
	env := &pb.Envelope{Body: &pb.Envelope_Pty{Pty: &pb.PtyHandoff{MasterFd: 0}}}
	return c.sendEnvelope(env, []int{int(master.Fd())})
}

// ConfirmExec tells the parent, right before exec, that the exec is next,
// when the parent asked for it (an older parent did not: then it sends
// nothing). If the exec then fails, report it with SendError(StageExec, ...).
func (ch *ChildEnd) ConfirmExec() error {
	c, err := ch.begin("confirm exec")
	if err != nil || !ch.confirm {
		return err
	}
	return c.sendEnvelope(&pb.Envelope{Body: &pb.Envelope_Exec{Exec: &pb.ExecConfirm{}}}, nil)
}

// SendError reports a setup failure to the parent; msg is cut at
// MaxErrorText bytes (never inside a UTF-8 character) and sanitized
// (Sanitize), as the C library does.
func (ch *ChildEnd) SendError(stage Stage, errno syscall.Errno, msg string) error {
	c, err := ch.begin("send error")
	if err != nil {
		return err
	}
	// Cut and sanitized as the C library's: the peer refuses invalid UTF-8,
	// and a report it refused would read as a successful exec.
	e := &pb.ChildError{Stage: pb.ChildError_Stage(stage), ErrnoValue: int32(errno),
		Message: Sanitize(cut(msg, MaxErrorText))}
	return c.sendEnvelope(&pb.Envelope{Body: &pb.Envelope_Error{Error: e}}, nil)
}
