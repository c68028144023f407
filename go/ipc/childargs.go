// SPDX-License-Identifier: Apache-2.0 OR MIT

package ipc

import (
	pb "github.com/libdropipc/libdropipc/go/dropipcv1"
)

// ChildArgs are the arguments the parent sends to the child, shaped like
// Drop's own (EnvId, Paths, Config, ExecArgs). It is a plain struct, not
// the generated dropipcv1.ChildArgs: Drop passes ChildArgs by value
// (SendChildArgs(ChildArgs)), and generated messages must not be copied
// (go vet: copylocks). Proto and ChildArgsFromProto convert.
//
// Drop's own code does not compile against it unchanged: Drop's ChildArgs
// hold its *jailfs.Paths and *config.Config, whose ports are int (not
// uint16) and whose config.Net orders its fields differently. Drop changes
// its import and converts with the functions of go/dropconv (see
// docs/DROP.md).
//
// OS strings (paths, arguments, variable names, values and patterns) are
// Go strings holding any bytes: a Latin-1 directory or an argument
// $'\xff' pass unchanged; only a NUL byte is refused. EnvId, Extends and
// HostIP are text: valid UTF-8.
type ChildArgs struct {
	EnvId    string
	Paths    *Paths
	Config   *Config
	ExecArgs []string // empty: the child runs the user's shell
	// Pty says whether the child gives the command a pty (PtyAuto: when
	// one of its fds 0-2 is a terminal, as Drop does).
	Pty PtyMode
	// TermSize, when set, is the size the child sets on the pty.
	TermSize *TermSize
}

// PtyMode is whether the child makes a pty for the command.
type PtyMode int32

const (
	// PtyAuto: a pty exactly when one of the child's fds 0-2 is a
	// terminal, replacing only those that are (Drop's rule; the default).
	PtyAuto PtyMode = 0
	// PtyAlways: always a pty, replacing all of fds 0-2.
	PtyAlways PtyMode = 1
	// PtyNever: never a pty; no pty frame is sent.
	PtyNever PtyMode = 2
)

// TermSize is a terminal's size, as struct winsize has it.
type TermSize struct {
	Rows, Cols, XPixels, YPixels uint32
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

// PublishedPort makes a port of the sandbox reachable from the host. Auto
// is Drop's "auto": every port the sandbox listens on (pasta's auto), with
// HostIP empty and both ports 0.
type PublishedPort struct {
	HostIP              string
	HostPort, GuestPort uint16
	Auto                bool
}

// HostPort makes a port of the host reachable from the sandbox. Auto is
// Drop's "auto": every port of the host, with both ports 0.
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

func b(s string) []byte {
	if s == "" {
		return nil
	}
	return []byte(s)
}

func bs(ss []string) [][]byte {
	var out [][]byte
	for _, s := range ss {
		out = append(out, []byte(s))
	}
	return out
}

// strs keeps Drop's zero values: an empty list is nil.
func strs(bb [][]byte) []string {
	var out []string
	for _, x := range bb {
		out = append(out, string(x))
	}
	return out
}

func (a *ChildArgs) toProto() (*pb.ChildArgs, error) {
	m := &pb.ChildArgs{EnvId: a.EnvId, ExecArgs: bs(a.ExecArgs), Pty: pb.PtyMode(a.Pty)}
	if t := a.TermSize; t != nil {
		m.TermSize = &pb.TermSize{Rows: t.Rows, Cols: t.Cols, XPixels: t.XPixels, YPixels: t.YPixels}
	}
	if p := a.Paths; p != nil {
		m.Paths = &pb.Paths{Cwd: b(p.Cwd), DropHome: b(p.DropHome), Env: b(p.Env),
			FsRoot: b(p.FsRoot), HostHome: b(p.HostHome), Home: b(p.Home), Etc: b(p.Etc),
			Var: b(p.Var), Tmp: b(p.Tmp), Run: b(p.Run), EmptyDir: b(p.EmptyDir),
			EmptyFile: b(p.EmptyFile)}
	}
	c := a.Config
	if c == nil {
		return m, nil
	}
	mode, ok := modes[c.Net.Mode]
	if !ok {
		return nil, invalid("config.net.mode: %q is not a known mode", c.Net.Mode)
	}
	m.Config = &pb.Config{Extends: c.Extends, BlockedPaths: bs(c.BlockedPaths),
		Environ: &pb.Environ{ExposedVars: bs(c.Environ.ExposedVars)}, Net: &pb.Net{Mode: mode}}
	for _, x := range c.Mounts {
		m.Config.Mounts = append(m.Config.Mounts,
			&pb.Mount{Source: b(x.Source), Target: b(x.Target), Rw: x.RW, Overlay: x.Overlay})
	}
	for _, v := range c.Environ.SetVars {
		m.Config.Environ.SetVars = append(m.Config.Environ.SetVars,
			&pb.SetVar{Name: b(v.Name), Value: b(v.Value)})
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

// fromProto converts a validated message (ports in range, a known mode).
func fromProto(m *pb.ChildArgs) *ChildArgs {
	a := &ChildArgs{EnvId: m.EnvId, ExecArgs: strs(m.ExecArgs), Pty: PtyMode(m.Pty)}
	if t := m.TermSize; t != nil {
		a.TermSize = &TermSize{Rows: t.Rows, Cols: t.Cols, XPixels: t.XPixels, YPixels: t.YPixels}
	}
	if p := m.Paths; p != nil {
		a.Paths = &Paths{Cwd: string(p.Cwd), DropHome: string(p.DropHome), Env: string(p.Env),
			FsRoot: string(p.FsRoot), HostHome: string(p.HostHome), Home: string(p.Home),
			Etc: string(p.Etc), Var: string(p.Var), Tmp: string(p.Tmp), Run: string(p.Run),
			EmptyDir: string(p.EmptyDir), EmptyFile: string(p.EmptyFile)}
	}
	c := m.Config
	if c == nil {
		return a
	}
	a.Config = &Config{Extends: c.Extends, BlockedPaths: strs(c.BlockedPaths)}
	for _, x := range c.Mounts {
		a.Config.Mounts = append(a.Config.Mounts,
			Mount{Source: string(x.Source), Target: string(x.Target), RW: x.Rw, Overlay: x.Overlay})
	}
	a.Config.Environ.ExposedVars = strs(c.GetEnviron().GetExposedVars())
	for _, v := range c.GetEnviron().GetSetVars() {
		a.Config.Environ.SetVars = append(a.Config.Environ.SetVars,
			EnvVar{Name: string(v.Name), Value: string(v.Value)})
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
