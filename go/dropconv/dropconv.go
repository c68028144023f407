// SPDX-License-Identifier: Apache-2.0 OR MIT

// Package dropconv converts between Drop's own types (jailfs.Paths and
// config.Config of Drop v0.1.5) and go/ipc's, which is what Drop needs
// besides changing its import of internal/ipc to go/ipc: go/ipc's
// ChildArgs hold *ipc.Paths and *ipc.Config, whose ports are uint16 (Drop's
// are int) and whose Net orders its fields differently.
//
// This file is meant for Drop's tree: copy it there and change the two
// imports marked below to github.com/wrr/drop/internal/config and
// github.com/wrr/drop/internal/jailfs (here they are stand-ins with the
// same fields, for the tests). docs/DROP.md says where it is called.
package dropconv

import (
	"fmt"

	"github.com/libdropipc/libdropipc/go/ipc"

	// In Drop's tree: "github.com/wrr/drop/internal/config" and
	// "github.com/wrr/drop/internal/jailfs".
	"github.com/libdropipc/libdropipc/go/dropconv/internal/config"
	"github.com/libdropipc/libdropipc/go/dropconv/internal/jailfs"
)

// ToIPC makes go/ipc's ChildArgs of Drop's (run.go's ipc.ChildArgs
// fields). A port outside 0..65535 is an error (go/ipc's are uint16).
func ToIPC(envID string, paths *jailfs.Paths, cfg *config.Config, execArgs []string) (ipc.ChildArgs, error) {
	a := ipc.ChildArgs{EnvId: envID, ExecArgs: execArgs}
	if paths != nil {
		p := ipc.Paths(*paths)
		a.Paths = &p
	}
	if cfg == nil {
		return a, nil
	}
	c := &ipc.Config{Extends: cfg.Extends, BlockedPaths: cfg.BlockedPaths,
		Environ: ipc.Environ{ExposedVars: cfg.Environ.ExposedVars}, Net: ipc.Net{Mode: cfg.Net.Mode}}
	for _, m := range cfg.Mounts {
		c.Mounts = append(c.Mounts, ipc.Mount(m))
	}
	for _, v := range cfg.Environ.SetVars {
		c.Environ.SetVars = append(c.Environ.SetVars, ipc.EnvVar(v))
	}
	var err error
	n := &c.Net
	if n.TCPPublishedPorts, err = publishedToIPC("tcp_published_ports", cfg.Net.TCPPublishedPorts); err != nil {
		return a, err
	}
	if n.UDPPublishedPorts, err = publishedToIPC("udp_published_ports", cfg.Net.UDPPublishedPorts); err != nil {
		return a, err
	}
	if n.TCPHostPorts, err = hostToIPC("tcp_host_ports", cfg.Net.TCPHostPorts); err != nil {
		return a, err
	}
	if n.UDPHostPorts, err = hostToIPC("udp_host_ports", cfg.Net.UDPHostPorts); err != nil {
		return a, err
	}
	a.Config = c
	return a, nil
}

func port(list string, i int, name string, v int) (uint16, error) {
	if v < 0 || v > 65535 {
		return 0, fmt.Errorf("net.%s[%d].%s: %d is not in 0..65535", list, i, name, v)
	}
	return uint16(v), nil
}

func publishedToIPC(list string, ps []config.PublishedPort) ([]ipc.PublishedPort, error) {
	var out []ipc.PublishedPort
	for i, p := range ps {
		h, err := port(list, i, "host_port", p.HostPort)
		if err != nil {
			return nil, err
		}
		g, err := port(list, i, "guest_port", p.GuestPort)
		if err != nil {
			return nil, err
		}
		out = append(out, ipc.PublishedPort{Auto: p.Auto, HostIP: p.HostIP, HostPort: h, GuestPort: g})
	}
	return out, nil
}

func hostToIPC(list string, ps []config.HostPort) ([]ipc.HostPort, error) {
	var out []ipc.HostPort
	for i, p := range ps {
		h, err := port(list, i, "host_port", p.HostPort)
		if err != nil {
			return nil, err
		}
		g, err := port(list, i, "guest_port", p.GuestPort)
		if err != nil {
			return nil, err
		}
		out = append(out, ipc.HostPort{Auto: p.Auto, HostPort: h, GuestPort: g})
	}
	return out, nil
}

// FromIPC gives Drop's types back from received ChildArgs (run.go's
// childArgs.EnvId, .Paths, .Config and .ExecArgs).
func FromIPC(a *ipc.ChildArgs) (envID string, paths *jailfs.Paths, cfg *config.Config, execArgs []string) {
	if a.Paths != nil {
		p := jailfs.Paths(*a.Paths)
		paths = &p
	}
	if c := a.Config; c != nil {
		cfg = &config.Config{Extends: c.Extends, BlockedPaths: c.BlockedPaths,
			Environ: config.Environ{ExposedVars: c.Environ.ExposedVars}, Net: config.Net{Mode: c.Net.Mode}}
		for _, m := range c.Mounts {
			cfg.Mounts = append(cfg.Mounts, config.Mount(m))
		}
		for _, v := range c.Environ.SetVars {
			cfg.Environ.SetVars = append(cfg.Environ.SetVars, config.EnvVar(v))
		}
		cfg.Net.TCPPublishedPorts = publishedFromIPC(c.Net.TCPPublishedPorts)
		cfg.Net.UDPPublishedPorts = publishedFromIPC(c.Net.UDPPublishedPorts)
		cfg.Net.TCPHostPorts = hostFromIPC(c.Net.TCPHostPorts)
		cfg.Net.UDPHostPorts = hostFromIPC(c.Net.UDPHostPorts)
	}
	return a.EnvId, paths, cfg, a.ExecArgs
}

func publishedFromIPC(ps []ipc.PublishedPort) []config.PublishedPort {
	var out []config.PublishedPort
	for _, p := range ps {
		out = append(out, config.PublishedPort{Auto: p.Auto, HostIP: p.HostIP,
			HostPort: int(p.HostPort), GuestPort: int(p.GuestPort)})
	}
	return out
}

func hostFromIPC(ps []ipc.HostPort) []config.HostPort {
	var out []config.HostPort
	for _, p := range ps {
		out = append(out, config.HostPort{Auto: p.Auto, HostPort: int(p.HostPort), GuestPort: int(p.GuestPort)})
	}
	return out
}
