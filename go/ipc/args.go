// SPDX-License-Identifier: Apache-2.0 OR MIT

package ipc

import (
	"bytes"
	"fmt"
	"net"
	"sort"
	"strings"
	"unicode/utf8"

	pb "github.com/libdropipc/libdropipc/go/dropipcv1"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// leaf is one scalar of a message: its dump path, field and value.
type leaf struct {
	path  string
	field protoreflect.FieldDescriptor
	value protoreflect.Value
}

// leaves lists every scalar of m, depth-first in field-number order, every
// field of every present message (absent submessages have none).
func leaves(m protoreflect.Message, prefix string, out []leaf) []leaf {
	fields := m.Descriptor().Fields()
	sorted := make([]protoreflect.FieldDescriptor, fields.Len())
	for i := range sorted {
		sorted[i] = fields.Get(i)
	}
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Number() < sorted[j].Number() })
	for _, f := range sorted {
		path := prefix + string(f.Name())
		isMsg := f.Kind() == protoreflect.MessageKind
		switch {
		case f.IsList():
			list := m.Get(f).List()
			for i := 0; i < list.Len(); i++ {
				p := fmt.Sprintf("%s[%d]", path, i)
				if isMsg {
					out = leaves(list.Get(i).Message(), p+".", out)
				} else {
					out = append(out, leaf{p, f, list.Get(i)})
				}
			}
		case isMsg:
			if m.Has(f) {
				out = leaves(m.Get(f).Message(), path+".", out)
			}
		default:
			out = append(out, leaf{path, f, m.Get(f)})
		}
	}
	return out
}

func invalid(format string, a ...interface{}) error {
	return newError("DROPIPC_ERR_INVALID", fmt.Sprintf(format, a...))
}

func checkPort(list string, i int, name string, port uint32) error {
	if port >= 1 && port <= 65535 {
		return nil
	}
	return invalid("config.net.%s[%d].%s: %d is not in 1..65535", list, i, name, port)
}

// checkAuto: Drop's auto names no port (every port, as pasta's auto).
func checkAuto(list string, i int, hostPort, guestPort uint32) error {
	if hostPort != 0 {
		return invalid("config.net.%s[%d].host_port: %d set with auto", list, i, hostPort)
	}
	if guestPort != 0 {
		return invalid("config.net.%s[%d].guest_port: %d set with auto", list, i, guestPort)
	}
	return nil
}

func isIP(s string) bool {
	return net.ParseIP(s) != nil && !strings.Contains(s, "%")
}

// normalized is Drop's rule for mount sources and targets and blocked
// paths: "~", or a path that starts with "/" or "~/", with no empty, "."
// or ".." component and no trailing "/" (but "/" itself), so that what the
// config names is what the jail touches.
func normalized(p string) bool {
	if p == "~" || p == "/" {
		return true
	}
	var rest string
	switch {
	case strings.HasPrefix(p, "/"):
		rest = p[1:]
	case strings.HasPrefix(p, "~/"):
		rest = p[2:]
	default:
		return false
	}
	for _, c := range strings.Split(rest, "/") {
		if c == "" || c == "." || c == ".." {
			return false
		}
	}
	return true
}

func checkPath(p, field string) error {
	switch {
	case p == "":
		return invalid("config.%s: empty", field)
	case p != "~" && !strings.HasPrefix(p, "/") && !strings.HasPrefix(p, "~/"):
		return invalid("config.%s: path must start with / or ~/: %s", field, p)
	case !normalized(p):
		return invalid("config.%s: path is not normalized: %s", field, p)
	}
	return nil
}

// validate checks args as PROTOCOL.md says both ends do, in the C
// library's order (the fields' meaning, then the strings); the error
// (DROPIPC_ERR_INVALID) names the field.
func validate(a *pb.ChildArgs) error {
	if err := validateFields(a); err != nil {
		return err
	}
	return checkStrings(a)
}

// checkStrings refuses a NUL byte in any field (OS strings are bytes, C
// strings on the C side) and invalid UTF-8 in the text fields.
func checkStrings(a *pb.ChildArgs) error {
	for _, l := range leaves(a.ProtoReflect(), "", nil) {
		var v []byte
		switch l.field.Kind() {
		case protoreflect.BytesKind:
			v = l.value.Bytes()
		case protoreflect.StringKind:
			v = []byte(l.value.String())
		default:
			continue
		}
		if at, nul := badText(v, l.field.Kind() == protoreflect.StringKind); at >= 0 {
			if nul {
				return invalid("%s: NUL byte at byte %d", l.path, at)
			}
			return invalid("%s: invalid UTF-8 at byte %d", l.path, at)
		}
	}
	return nil
}

// badText is the offset of the first NUL byte of v (and, for text, of its
// first byte that is not valid UTF-8), or -1.
func badText(v []byte, text bool) (at int, nul bool) {
	for i := 0; i < len(v); {
		if v[i] == 0 {
			return i, true
		}
		if !text || v[i] < 0x80 {
			i++
			continue
		}
		r, size := utf8.DecodeRune(v[i:])
		if r == utf8.RuneError && size == 1 {
			return i, false
		}
		i += size
	}
	return -1, false
}

func validateFields(a *pb.ChildArgs) error {
	switch {
	case a.EnvId == "":
		return invalid("env_id: empty")
	case a.Paths == nil:
		return invalid("paths: missing")
	}
	// No exec args is fine: the child runs the user's shell, as Drop does.
	switch a.Pty {
	case pb.PtyMode_PTY_AUTO, pb.PtyMode_PTY_ALWAYS, pb.PtyMode_PTY_NEVER:
	default:
		return invalid("pty: %d is not a known mode", a.Pty)
	}
	cfg := a.Config
	if cfg == nil {
		return invalid("config: missing")
	}
	for i, m := range cfg.Mounts {
		if err := checkPath(string(m.Source), fmt.Sprintf("mounts[%d].source", i)); err != nil {
			return err
		}
		if err := checkPath(string(m.Target), fmt.Sprintf("mounts[%d].target", i)); err != nil {
			return err
		}
	}
	for i, p := range cfg.BlockedPaths {
		if err := checkPath(string(p), fmt.Sprintf("blocked_paths[%d]", i)); err != nil {
			return err
		}
	}
	for i, v := range cfg.GetEnviron().GetExposedVars() {
		if len(v) == 0 {
			return invalid("config.environ.exposed_vars[%d]: empty", i)
		}
	}
	for i, v := range cfg.GetEnviron().GetSetVars() {
		if len(v.Name) == 0 {
			return invalid("config.environ.set_vars[%d].name: empty", i)
		}
		// The name is bytes, not text: the message gives where, not what.
		if at := bytes.IndexByte(v.Name, '='); at >= 0 {
			return invalid("config.environ.set_vars[%d].name: '=' at byte %d", i, at)
		}
	}
	return validateNet(cfg.Net)
}

func validateNet(net *pb.Net) error {
	if net == nil {
		return invalid("config.net: missing")
	}
	switch net.Mode {
	case pb.Net_MODE_OFF, pb.Net_MODE_ISOLATED, pb.Net_MODE_UNJAILED:
	default:
		return invalid("config.net.mode: %d is not a known mode", net.Mode)
	}
	for _, l := range []struct {
		name  string
		ports []*pb.PublishedPort
	}{{"tcp_published_ports", net.TcpPublishedPorts}, {"udp_published_ports", net.UdpPublishedPorts}} {
		for i, p := range l.ports {
			if p.Auto {
				if p.HostIp != "" {
					return invalid("config.net.%s[%d].host_ip: set with auto", l.name, i)
				}
				if err := checkAuto(l.name, i, p.HostPort, p.GuestPort); err != nil {
					return err
				}
				continue
			}
			if err := checkPort(l.name, i, "host_port", p.HostPort); err != nil {
				return err
			}
			if err := checkPort(l.name, i, "guest_port", p.GuestPort); err != nil {
				return err
			}
			if p.HostIp != "" && !isIP(p.HostIp) {
				return invalid("config.net.%s[%d].host_ip: \"%s\" is not an IP address", l.name, i, p.HostIp)
			}
		}
	}
	for _, l := range []struct {
		name  string
		ports []*pb.HostPort
	}{{"tcp_host_ports", net.TcpHostPorts}, {"udp_host_ports", net.UdpHostPorts}} {
		for i, p := range l.ports {
			var err error
			if p.Auto {
				err = checkAuto(l.name, i, p.HostPort, p.GuestPort)
			} else if err = checkPort(l.name, i, "host_port", p.HostPort); err == nil {
				err = checkPort(l.name, i, "guest_port", p.GuestPort)
			}
			if err != nil {
				return err
			}
		}
	}
	return nil
}
