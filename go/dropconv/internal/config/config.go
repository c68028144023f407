// SPDX-License-Identifier: Apache-2.0 OR MIT

// Package config stands in for Drop's internal/config (v0.1.5) in the
// tests of package dropconv: the types have Drop's fields, in Drop's order
// (config.Net's differs from go/ipc's; ports are int with Auto first).
package config

// Config is Drop's config.Config.
type Config struct {
	Extends      string
	Mounts       []Mount
	BlockedPaths []string
	Environ      Environ
	Net          Net
}

// Mount is Drop's config.Mount.
type Mount struct {
	Source  string
	Target  string
	RW      bool
	Overlay bool
}

// Environ is Drop's config.Environ.
type Environ struct {
	ExposedVars []string
	SetVars     []EnvVar
}

// EnvVar is Drop's config.EnvVar.
type EnvVar struct {
	Name  string
	Value string
}

// Net is Drop's config.Net.
type Net struct {
	Mode              string
	TCPPublishedPorts []PublishedPort
	TCPHostPorts      []HostPort
	UDPPublishedPorts []PublishedPort
	UDPHostPorts      []HostPort
}

// PublishedPort is Drop's config.PublishedPort.
type PublishedPort struct {
	Auto      bool
	HostIP    string
	HostPort  int
	GuestPort int
}

// HostPort is Drop's config.HostPort.
type HostPort struct {
	Auto      bool
	HostPort  int
	GuestPort int
}
