// SPDX-License-Identifier: Apache-2.0 OR MIT

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

// namedToProto names the files of a frame: files[i] is fd index i.
func namedToProto(c *conn, files []NamedFile) ([]*pb.File, []int, error) {
	if len(files) > MaxFds {
		return nil, nil, c.failCause(syscall.EINVAL, "EINVAL", "%d files, not 1..%d", len(files), MaxFds)
	}
	var out []*pb.File
	var fds []int
	for i, f := range files {
		if f.Name == "" {
			return nil, nil, c.failCause(syscall.EINVAL, "EINVAL", "files[%d]: no name", i)
		}
		if at, nul := badText([]byte(f.Name), true); at >= 0 {
			what := "invalid UTF-8"
			if nul {
				what = "NUL byte"
			}
			return nil, nil, c.failCause(syscall.EINVAL, "EINVAL", "files[%d].name: %s at byte %d", i, what, at)
		}
		if f.File == nil {
			return nil, nil, c.failCause(syscall.EBADF, "EBADF", "files[%d] (%s): no file", i, f.Name)
		}
		out = append(out, &pb.File{Name: f.Name, Fd: uint32(i)})
		fds = append(fds, int(f.File.Fd()))
	}
	return out, fds, nil
}

// namedFromProto claims the frame's fds for the named files, as the C
// library does: as many files as fds, each name not empty, each fd claimed
// once. On failure every fd is closed; on success each file is the
// caller's.
func namedFromProto(c *conn, files []*pb.File, fds []int) ([]NamedFile, error) {
	var err error
	if len(files) != len(fds) {
		err = c.fail("DROPIPC_ERR_PROTO", "%d files named for %d fds", len(files), len(fds))
	}
	for i := 0; err == nil && i < len(files); i++ {
		if files[i].Name == "" {
			err = c.fail("DROPIPC_ERR_INVALID", "files[%d].name: empty", i)
		}
	}
	got := make([]int, 0, len(files))
	for i := 0; err == nil && i < len(files); i++ {
		var fd int
		// The label is not the name: that is the peer's text.
		if fd, err = c.claim(fds, files[i].Fd, fmt.Sprintf("files[%d].fd", i)); err == nil {
			got = append(got, fd)
		}
	}
	if ferr := c.finish(fds); err == nil {
		err = ferr
	}
	if err != nil {
		closeFds(got)
		return nil, err
	}
	out := make([]NamedFile, len(got))
	for i, fd := range got {
		out[i] = NamedFile{Name: files[i].Name, File: os.NewFile(uintptr(fd), files[i].Name)}
	}
	return out, nil
}

func sendCustom(c *conn, m Custom) error {
	if why := checkCustomType(m.Type); why != "" {
		return c.failCause(syscall.EINVAL, "EINVAL", "%s", why)
	}
	files, fds, err := namedToProto(c, m.Files)
	if err != nil {
		return err
	}
	msg := &pb.Custom{Type: m.Type, Data: m.Data, Files: files}
	return c.sendEnvelope(&pb.Envelope{Body: &pb.Envelope_Custom{Custom: msg}}, fds)
}

// recvCustom receives a Custom message.
func recvCustom(c *conn) (*Custom, error) {
	msg := &pb.Custom{}
	fds, err := c.recvMessage("custom", msg)
	if err != nil {
		return nil, err
	}
	if why := checkCustomType(msg.Type); why != "" {
		closeFds(fds)
		return nil, c.fail("DROPIPC_ERR_INVALID", "%s", why)
	}
	files, err := namedFromProto(c, msg.Files, fds)
	if err != nil {
		return nil, err
	}
	return &Custom{Type: msg.Type, Data: msg.Data, Files: files}, nil
}

func sendFiles(c *conn, files []NamedFile) error {
	if len(files) == 0 {
		return c.failCause(syscall.EINVAL, "EINVAL", "0 files, not 1..%d", MaxFds)
	}
	pf, fds, err := namedToProto(c, files)
	if err != nil {
		return err
	}
	return c.sendEnvelope(&pb.Envelope{Body: &pb.Envelope_Files{Files: &pb.Files{Files: pf}}}, fds)
}

func recvFiles(c *conn) ([]NamedFile, error) {
	msg := &pb.Files{}
	fds, err := c.recvMessage("files", msg)
	if err != nil {
		return nil, err
	}
	if len(msg.Files) == 0 {
		closeFds(fds)
		return nil, c.fail("DROPIPC_ERR_PROTO", "0 files named for %d fds", len(fds))
	}
	return namedFromProto(c, msg.Files, fds)
}

// SendFiles sends named files (1 to MaxFds: pipes, a pidfd, ...) to the
// child; the files stay the caller's.
func (p *ParentEnd) SendFiles(files []NamedFile) error {
	c, err := p.begin("send files")
	if err != nil {
		return err
	}
	return sendFiles(c, files)
}

// RecvFiles waits for named files from the child; each is the caller's to
// close. A child's report instead is ErrChild (see ChildError).
func (p *ParentEnd) RecvFiles() ([]NamedFile, error) {
	p.child = nil
	c, err := p.begin("recv files")
	if err != nil {
		return nil, err
	}
	files, err := recvFiles(c)
	p.noteChild(err)
	return files, err
}

// SendFiles sends named files to the parent; the files stay the caller's.
func (ch *ChildEnd) SendFiles(files []NamedFile) error {
	c, err := ch.begin("send files")
	if err != nil {
		return err
	}
	return sendFiles(c, files)
}

// RecvFiles waits for named files from the parent; each is the caller's
// to close.
func (ch *ChildEnd) RecvFiles() ([]NamedFile, error) {
	c, err := ch.begin("recv files")
	if err != nil {
		return nil, err
	}
	files, err := recvFiles(c)
	if errors.Is(err, ErrChild) {
		return nil, c.fail("DROPIPC_ERR_PROTO", "expected the files message, got error")
	}
	return files, err
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
		return nil, c.fail("DROPIPC_ERR_PROTO", "expected the custom message, got error")
	}
	return m, err
}
