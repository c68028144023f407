// SPDX-License-Identifier: Apache-2.0

package ipc

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	pb "github.com/libdropipc/libdropipc/go/dropipcv1"
)

// MaxCustomType is the longest type name of a Custom message.
const MaxCustomType = 256

// Custom is a launcher's own message (the Envelope's custom body): a type
// name the launcher chooses ("org.example.launcher.Limits/1": 1 to
// MaxCustomType bytes of printable ASCII, 0x21..0x7e), its data in
// whatever encoding the type names, and named files that travel with it
// (at most MaxFds). The library carries it and checks its fds like any
// other frame's; what it means is agreed between the launcher and its
// child. Send it only to a peer known to expect it: an older peer reports
// it as unsupported.
type Custom struct {
	Type  string
	Data  []byte
	Files []NamedFile
}

// NamedFile is one file of a frame and what it is ("stdin"), as the peers
// agree. Name is not empty and is valid UTF-8.
type NamedFile struct {
	Name string
	File *os.File
}

// checkCustomType is the schema's rule for Custom.type.
func checkCustomType(t string) string {
	if t == "" || len(t) > MaxCustomType {
		return fmt.Sprintf("custom type of %d bytes, not 1..%d", len(t), MaxCustomType)
	}
	for i := 0; i < len(t); i++ {
		if t[i] < 0x21 || t[i] > 0x7e {
			return fmt.Sprintf("custom type: byte %d is 0x%02x, not printable ASCII", i, t[i])
		}
	}
	return ""
}

func sendCustom(c *conn, m Custom) error {
	if why := checkCustomType(m.Type); why != "" {
		return c.failCause(syscall.EINVAL, "EINVAL", "%s", why)
	}
	if len(m.Files) > MaxFds {
		return c.failCause(syscall.EINVAL, "EINVAL", "%d files, the maximum is %d", len(m.Files), MaxFds)
	}
	msg := &pb.Custom{Type: m.Type, Data: m.Data}
	var fds []int
	for i, f := range m.Files {
		if f.Name == "" {
			return c.failCause(syscall.EINVAL, "EINVAL", "files[%d]: no name", i)
		}
		if at, nul := badText([]byte(f.Name), true); at >= 0 {
			what := "invalid UTF-8"
			if nul {
				what = "NUL byte"
			}
			return c.failCause(syscall.EINVAL, "EINVAL", "files[%d].name: %s at byte %d", i, what, at)
		}
		if f.File == nil {
			return c.failCause(syscall.EBADF, "EBADF", "files[%d] (%s): no file", i, f.Name)
		}
		msg.Files = append(msg.Files, &pb.File{Name: f.Name, Fd: uint32(i)})
		fds = append(fds, int(f.File.Fd()))
	}
	return c.sendEnvelope(&pb.Envelope{Body: &pb.Envelope_Custom{Custom: msg}}, fds)
}

// recvCustom receives a Custom message; every fd of the frame must be
// named by exactly one file, and each file is the caller's to close.
func recvCustom(c *conn) (*Custom, error) {
	msg := &pb.Custom{}
	fds, err := c.recvMessage("custom", msg)
	if err != nil {
		return nil, err
	}
	if why := checkCustomType(msg.Type); why != "" {
		closeFds(fds)
		return nil, c.fail("DROPIPC_EPROTO", "%s", why)
	}
	m := &Custom{Type: msg.Type, Data: msg.Data}
	got := make([]int, 0, len(msg.Files))
	for i, f := range msg.Files {
		if f.Name == "" {
			err = c.fail("DROPIPC_EPROTO", "files[%d]: no name", i)
			break
		}
		fd, cerr := c.claim(fds, f.Fd, fmt.Sprintf("files[%d] (%s)", i, f.Name))
		if cerr != nil {
			err = cerr
			break
		}
		got = append(got, fd)
	}
	if ferr := c.finish(fds); err == nil {
		err = ferr
	}
	if err != nil {
		closeFds(got)
		return nil, err
	}
	for i, fd := range got {
		m.Files = append(m.Files, NamedFile{Name: msg.Files[i].Name, File: os.NewFile(uintptr(fd), msg.Files[i].Name)})
	}
	return m, nil
}

// SendCustom sends a launcher's own message to the child; the files stay
// the caller's.
func (p *ParentEnd) SendCustom(m Custom) error {
	c, err := p.begin("send custom")
	if err != nil {
		return err
	}
	return sendCustom(c, m)
}

// RecvCustom waits for a launcher's own message from the child. A child's
// report instead is ErrChild (see ChildError).
func (p *ParentEnd) RecvCustom() (*Custom, error) {
	p.child = nil
	c, err := p.begin("recv custom")
	if err != nil {
		return nil, err
	}
	m, err := recvCustom(c)
	p.noteChild(err)
	return m, err
}

// SendCustom sends a launcher's own message to the parent; the files stay
// the caller's.
func (ch *ChildEnd) SendCustom(m Custom) error {
	c, err := ch.begin("send custom")
	if err != nil {
		return err
	}
	return sendCustom(c, m)
}

// RecvCustom waits for a launcher's own message from the parent.
func (ch *ChildEnd) RecvCustom() (*Custom, error) {
	c, err := ch.begin("recv custom")
	if err != nil {
		return nil, err
	}
	m, err := recvCustom(c)
	if errors.Is(err, ErrChild) {
		return nil, c.fail("DROPIPC_EPROTO", "expected the custom message, got error")
	}
	return m, err
}
