// SPDX-License-Identifier: Apache-2.0 OR MIT

// Package jailfs stands in for Drop's internal/jailfs (v0.1.5) in the
// tests of package dropconv: Paths has Drop's fields, in Drop's order.
package jailfs

// Paths is Drop's jailfs.Paths.
type Paths struct {
	Cwd       string
	DropHome  string
	Env       string
	FsRoot    string
	HostHome  string
	Home      string
	Etc       string
	Var       string
	Tmp       string
	Run       string
	EmptyDir  string
	EmptyFile string
}
