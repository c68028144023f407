// SPDX-License-Identifier: Apache-2.0

package ipc

import (
	"fmt"
	"net"
	"sort"
	"strings"

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
	return newError("DROPIPC_EINVAL", fmt.Sprintf(format, a...))
}

func checkPort(list string, i int, name string, port uint32, zeroOK bool) error {
	if (port == 0 && zeroOK) || (port >= 1 && port <= 65535) {
		return nil
	}
	return invalid("config.net.%s[%d].%s: %d is not in 1..65535", list, i, name, port)
}

func isIP(s string) bool {
	return net.ParseIP(s) != nil && !strings.Contains(s, "%")
}

// validate checks args as PROTOCOL.md says both ends do; the error
// (DROPIPC_EINVAL) names the field.
func validate(a *pb.ChildArgs) error {
	for _, l := range leaves(a.ProtoReflect(), "", nil) {
		if l.field.Kind() == protoreflect.StringKind {
			if i := strings.IndexByte(l.value.String(), 0); i >= 0 {
				return invalid("%s: NUL byte at byte %d of the string", l.path, i)
			}
		}
	}
	switch {
	case a.EnvId == "":
		return invalid("env_id: empty")
	case a.Paths == nil:
		return invalid("paths: missing")
	case a.Config == nil:
		return invalid("config: missing")
	}
	cfg := a.Config
	for i, m := range cfg.Mounts {
		if m.Source == "" {
			return invalid("config.mounts[%d].source: empty", i)
		}
		if m.Target == "" {
			return invalid("config.mounts[%d].target: empty", i)
		}
	}
	for i, b := range cfg.BlockedPaths {
		if b == "" {
			return invalid("config.blocked_paths[%d]: empty", i)
		}
	}
	for i, v := range cfg.GetEnviron().GetExposedVars() {
		if v == "" {
			return invalid("config.environ.exposed_vars[%d]: empty", i)
		}
	}
	for i, v := range cfg.GetEnviron().GetSetVars() {
		if v.Name == "" {
			return invalid("config.environ.set_vars[%d].name: empty", i)
		}
		if strings.Contains(v.Name, "=") {
			return invalid("config.environ.set_vars[%d].name: \"%s\" contains '='", i, v.Name)
		}
	}
	net := cfg.Net
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
			if err := checkPort(l.name, i, "host_port", p.HostPort, p.Auto); err != nil {
				return err
			}
			if err := checkPort(l.name, i, "guest_port", p.GuestPort, false); err != nil {
				return err
			}
			if p.Auto && p.HostPort != 0 {
				return invalid("config.net.%s[%d].host_port: %d set with auto", l.name, i, p.HostPort)
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
			if err := checkPort(l.name, i, "host_port", p.HostPort, false); err != nil {
				return err
			}
			if err := checkPort(l.name, i, "guest_port", p.GuestPort, p.Auto); err != nil {
				return err
			}
			if p.Auto && p.GuestPort != 0 {
				return invalid("config.net.%s[%d].guest_port: %d set with auto", l.name, i, p.GuestPort)
			}
		}
	}
	return nil
}
