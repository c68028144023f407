// SPDX-License-Identifier: Apache-2.0 OR MIT

package ipc

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
)

// The error classes of docs/PROTOCOL.md, for errors.Is. End of stream
// between frames (DROPIPC_ERR_OF) is io.EOF, as in Drop's ipc package; a
// failed system call is its syscall.Errno.
var (
	ErrTrunc       = errors.New("the peer closed the connection in the middle of a frame")
	ErrProto       = errors.New("protocol violation")
	ErrTooBig      = errors.New("frame larger than the size limit")
	ErrTimeout     = errors.New("timed out")
	ErrInvalid     = errors.New("message failed validation")
	ErrUnsupported = errors.New("unsupported message type")
	ErrChild       = errors.New("the child reported a setup failure")
	ErrNotPty      = errors.New("received fd is not a pseudoterminal master")
	ErrClosed      = errors.New("connection unusable after an earlier error")
	ErrNoExec      = errors.New("the child closed the channel without confirming its exec")
)

var classes = map[string]error{
	"DROPIPC_ERR_OF": io.EOF, "DROPIPC_ERR_TRUNC": ErrTrunc, "DROPIPC_ERR_PROTO": ErrProto,
	"DROPIPC_ERR_TOOBIG": ErrTooBig, "DROPIPC_ERR_TIMEDOUT": ErrTimeout, "DROPIPC_ERR_INVALID": ErrInvalid,
	"DROPIPC_ERR_UNSUPPORTED": ErrUnsupported, "DROPIPC_ERR_CHILD": ErrChild,
	"DROPIPC_ERR_NOTPTY": ErrNotPty, "DROPIPC_ERR_CLOSED": ErrClosed, "DROPIPC_ERR_NOEXEC": ErrNoExec,
}

// Error is a failure of one end. Msg names what failed with the C library's
// words ("recv pty: expected 1 fd, got 2"); errors.Is tells its class
// (ErrProto, io.EOF, ...) and its cause: the syscall.Errno of a failed
// system call (errors.Is(err, syscall.EPIPE)), os.ErrDeadlineExceeded for
// a timeout, net.ErrClosed for a call on, or blocked in, a closed end.
type Error struct {
	// Name is the class's C name ("DROPIPC_ERR_PROTO") or an errno name ("EPIPE").
	Name string
	Msg  string
	// Child is the child's report, for ErrChild.
	Child  *ChildError
	err    error
	causes []error
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.err }

// Is matches the error's class and each of its causes.
func (e *Error) Is(target error) bool {
	for _, c := range e.causes {
		if errors.Is(c, target) {
			return true
		}
	}
	return false
}

// As finds target's type among the causes (errors.As(err, &errno)).
func (e *Error) As(target interface{}) bool {
	for _, c := range e.causes {
		if errors.As(c, target) {
			return true
		}
	}
	return false
}

// The errno names a channel's system calls can give (Go has no table);
// another errno is named "errno N" and still kept for errors.Is.
var errnoNames = map[syscall.Errno]string{
	syscall.EPIPE: "EPIPE", syscall.ECONNRESET: "ECONNRESET", syscall.EBADF: "EBADF",
	syscall.EINVAL: "EINVAL", syscall.ENOMEM: "ENOMEM", syscall.ENOTSOCK: "ENOTSOCK",
	syscall.EMFILE: "EMFILE", syscall.ENFILE: "ENFILE", syscall.EAGAIN: "EAGAIN",
	syscall.EACCES: "EACCES", syscall.EPERM: "EPERM", syscall.ENOENT: "ENOENT",
	syscall.EINTR: "EINTR", syscall.EIO: "EIO", syscall.ENOBUFS: "ENOBUFS",
	syscall.ENOTCONN: "ENOTCONN", syscall.EMSGSIZE: "EMSGSIZE", syscall.EFAULT: "EFAULT",
	syscall.EOPNOTSUPP: "EOPNOTSUPP", syscall.ETIMEDOUT: "ETIMEDOUT",
}

// newError makes an *Error of a class (or errno) name; causes are kept
// for errors.Is.
func newError(name, msg string, causes ...error) *Error {
	e := &Error{Name: name, Msg: msg, err: classes[name]}
	if e.err == nil {
		for errno, n := range errnoNames {
			if n == name {
				e.err = errno
			}
		}
	}
	for _, c := range causes {
		if c != nil {
			e.causes = append(e.causes, c)
		}
	}
	return e
}

// Name is the class name of err ("DROPIPC_ERR_PROTO", "EPIPE"), "" if err
// is not an *Error.
func Name(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Name
	}
	return ""
}

// errnoName is the name and text of an I/O error: its errno's, or
// DROPIPC_ERR_CLOSED for a closed end's.
func errnoName(err error) (string, string) {
	var en syscall.Errno
	switch {
	case errors.As(err, &en):
		if name, ok := errnoNames[en]; ok {
			return name, en.Error()
		}
		return fmt.Sprintf("errno %d", int(en)), en.Error()
	case errors.Is(err, net.ErrClosed), errors.Is(err, os.ErrClosed):
		return "DROPIPC_ERR_CLOSED", "the end is closed"
	}
	return "UNKNOWN", err.Error()
}

// Stage is where the child's setup failed.
type Stage int32

const (
	StageUnspecified Stage = 0
	StageArgs        Stage = 1 // receiving or validating the arguments
	StageJail        Stage = 2 // building the jail
	StagePty         Stage = 3 // creating or handing over the pty
	StageExec        Stage = 4 // finding or starting the command
)

// String is the stage's name, e.g. "exec"; "unknown" for other values.
func (s Stage) String() string {
	switch s {
	case StageArgs:
		return "args"
	case StageJail:
		return "jail"
	case StagePty:
		return "pty"
	case StageExec:
		return "exec"
	}
	return "unknown"
}

// ChildError is a setup failure the child reported. Message comes from the
// sandbox: it is cut at MaxErrorText bytes and its control characters are
// replaced, so that printing it cannot drive the user's terminal.
type ChildError struct {
	Stage   Stage
	Errno   syscall.Errno
	Message string
}
