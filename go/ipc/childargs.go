// SPDX-License-Identifier: Apache-2.0

package ipc

import (
	pb "github.com/libdropipc/libdropipc/go/dropipcv1"
)

// ChildArgs are the arguments the parent sends to the child, shaped like
// Drop's own (EnvId, Paths, Config, ExecArgs) so that Drop's code compiles
// unchanged. It is a plain struct, not the generated dropipcv1.ChildArgs:
// Drop passes ChildArgs by value (SendChildArgs(ChildArgs)), and generated
// messages must not be copied (go vet: copylocks). Proto and
// ChildArgsFromProto convert.
type ChildArgs struct {
	EnvId    string
	Paths    *Paths
	Config   *Config
	ExecArgs []string
}

// Paths are the jail's filesystem locations, absolute host paths.
type Paths struct {
	Cwd, DropHome, Env, FsRoot, HostHome, Home, Etc, Var, Tmp, Run, EmptyDir, EmptyFile string
}

// Config is the environment's configuration.
type Config struct {
	Extends      string
	Mounts       []Mount
	BlockedPaths []string
	Environ      Environ
	Net          Net
}

// Mount is a host path made visible in the jail.
type Mount struct {
	Source, Target string
	RW, Overlay    bool
}

// Environ says which variables the command sees.
type Environ struct {
	ExposedVars []string // names or shell globs ("LC_*")
	SetVars     []EnvVar
}

// EnvVar is one variable to set.
type EnvVar struct {
	Name, Value string
}

// Net modes.
const (
	NetOff      = "off"
	NetIsolated = "isolated"
	NetUnjailed = "unjailed"
)

// Net is the network configuration; Mode is NetOff, NetIsolated or NetUnjailed.
type Net struct {
	Mode              string
	TCPPublishedPorts []PublishedPort
	UDPPublishedPorts []PublishedPort
	TCPHostPorts      []HostPort
	UDPHostPorts      []HostPort
}

// PublishedPort makes a port of the sandbox reachable from the host.
type PublishedPort struct {
	HostIP              string
	HostPort, GuestPort uint16
	Auto                bool
}

// HostPort makes a port of the host reachable from the sandbox.
type HostPort struct {
	HostPort, GuestPort uint16
	Auto                bool
}

var modes = map[string]pb.Net_Mode{
	NetOff: pb.Net_MODE_OFF, NetIsolated: pb.Net_MODE_ISOLATED, NetUnjailed: pb.Net_MODE_UNJAILED,
}

// Validate checks a as both ends do before use (docs/PROTOCOL.md); the
// error (ErrInvalid) names the field.
func (a *ChildArgs) Validate() error {
	m, err := a.toProto()
	if err != nil {
		return err
	}
	return validate(m)
}

// Proto is a as the generated message (ConfirmExec is the end's business:
// SendChildArgs sets it).
func (a *ChildArgs) Proto() (*pb.ChildArgs, error) { return a.toProto() }

func (a *ChildArgs) toProto() (*pb.ChildArgs, error) {
	m := &pb.ChildArgs{EnvId: a.EnvId, ExecArgs: a.ExecArgs}
	if p := a.Paths; p != nil {
		m.Paths = &pb.Paths{Cwd: p.Cwd, DropHome: p.DropHome, Env: p.Env, FsRoot: p.FsRoot,
			HostHome: p.HostHome, Home: p.Home, Etc: p.Etc, Var: p.Var, Tmp: p.Tmp, Run: p.Run,
			EmptyDir: p.EmptyDir, EmptyFile: p.EmptyFile}
	}
	c := a.Config
	if c == nil {
		return m, nil
	}
	mode, ok := modes[c.Net.Mode]
	if !ok {
		return nil, invalid("config.net.mode: %q is not a known mode", c.Net.Mode)
	}
	m.Config = &pb.Config{Extends: c.Extends, BlockedPaths: c.BlockedPaths,
		Environ: &pb.Environ{ExposedVars: c.Environ.ExposedVars}, Net: &pb.Net{Mode: mode}}
	for _, x := range c.Mounts {
		m.Config.Mounts = append(m.Config.Mounts,
			&pb.Mount{Source: x.Source, Target: x.Target, Rw: x.RW, Overlay: x.Overlay})
	}
	for _, v := range c.Environ.SetVars {
		m.Config.Environ.SetVars = append(m.Config.Environ.SetVars, &pb.SetVar{Name: v.Name, Value: v.Value})
	}
	n := m.Config.Net
	n.TcpPublishedPorts = publishedToProto(c.Net.TCPPublishedPorts)
	n.UdpPublishedPorts = publishedToProto(c.Net.UDPPublishedPorts)
	n.TcpHostPorts = hostToProto(c.Net.TCPHostPorts)
	n.UdpHostPorts = hostToProto(c.Net.UDPHostPorts)
	return m, nil
}

func publishedToProto(ps []PublishedPort) []*pb.PublishedPort {
	var out []*pb.PublishedPort
	for _, p := range ps {
		out = append(out, &pb.PublishedPort{Auto: p.Auto, HostIp: p.HostIP,
			HostPort: uint32(p.HostPort), GuestPort: uint32(p.GuestPort)})
	}
	return out
}

func hostToProto(ps []HostPort) []*pb.HostPort {
	var out []*pb.HostPort
	for _, p := range ps {
		out = append(out, &pb.HostPort{Auto: p.Auto, HostPort: uint32(p.HostPort),
			GuestPort: uint32(p.GuestPort)})
	}
	return out
}

// ChildArgsFromProto converts a message that passed validation (as
// RecvChildArgs's do); a message that does not is refused (ErrInvalid).
func ChildArgsFromProto(m *pb.ChildArgs) (*ChildArgs, error) {
	if err := validate(m); err != nil {
		return nil, err
	}
	return fromProto(m), nil
}

// nonEmpty keeps Drop's zero values: an empty list is nil.
func nonEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return append([]string(nil), s...)
}

// fromProto converts a validated message (ports in range, a known mode).
func fromProto(m *pb.ChildArgs) *ChildArgs {
	a := &ChildArgs{EnvId: m.EnvId, ExecArgs: nonEmpty(m.ExecArgs)}
	if p := m.Paths; p != nil {
		a.Paths = &Paths{Cwd: p.Cwd, DropHome: p.DropHome, Env: p.Env, FsRoot: p.FsRoot,
			HostHome: p.HostHome, Home: p.Home, Etc: p.Etc, Var: p.Var, Tmp: p.Tmp, Run: p.Run,
			EmptyDir: p.EmptyDir, EmptyFile: p.EmptyFile}
	}
	c := m.Config
	if c == nil {
		return a
	}
	a.Config = &Config{Extends: c.Extends, BlockedPaths: nonEmpty(c.BlockedPaths)}
	for _, x := range c.Mounts {
		a.Config.Mounts = append(a.Config.Mounts,
			Mount{Source: x.Source, Target: x.Target, RW: x.Rw, Overlay: x.Overlay})
	}
	a.Config.Environ.ExposedVars = nonEmpty(c.GetEnviron().GetExposedVars())
	for _, v := range c.GetEnviron().GetSetVars() {
		a.Config.Environ.SetVars = append(a.Config.Environ.SetVars, EnvVar{Name: v.Name, Value: v.Value})
	}
	n := c.GetNet()
	for name, mode := range modes {
		if mode == n.GetMode() {
			a.Config.Net.Mode = name
		}
	}
	a.Config.Net.TCPPublishedPorts = publishedFromProto(n.GetTcpPublishedPorts())
	a.Config.Net.UDPPublishedPorts = publishedFromProto(n.GetUdpPublishedPorts())
	a.Config.Net.TCPHostPorts = hostFromProto(n.GetTcpHostPorts())
	a.Config.Net.UDPHostPorts = hostFromProto(n.GetUdpHostPorts())
	return a
}

func publishedFromProto(ps []*pb.PublishedPort) []PublishedPort {
	var out []PublishedPort
	for _, p := range ps {
		out = append(out, PublishedPort{HostIP: p.HostIp, HostPort: uint16(p.HostPort),
			GuestPort: uint16(p.GuestPort), Auto: p.Auto})
	}
	return out
}

func hostFromProto(ps []*pb.HostPort) []HostPort {
	var out []HostPort
	for _, p := range ps {
		out = append(out, HostPort{HostPort: uint16(p.HostPort), GuestPort: uint16(p.GuestPort),
			Auto: p.Auto})
	}
	return out
}
