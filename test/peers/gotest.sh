#!/bin/sh
# SPDX-License-Identifier: Apache-2.0 OR MIT
# go vet or go test of the Go module, offline, with Debian's protobuf; or
# (module) go build and go vet of go/ as a user's fresh clone has it: module
# mode, its go.mod and go.sum, the module proxy (SKIP, 77, when the proxy
# is not reachable, as here).
# vectors: the conformance vectors only.
# Usage: gotest.sh vet|test|vectors|module WORK GO_MODULE_DIR PEER_DIR
set -eu
what=$1 work=$2 mod=$3 peer=$4
here=$(dirname "$0")
mkdir -p "$work"
if [ "$what" = module ]; then
	cd "$mod"
	GOWORK=off GOFLAGS=-mod=readonly
	export GOWORK GOFLAGS
	if ! out=$(go mod download -x google.golang.org/protobuf 2>&1); then
		case $out in
		*SECURITY*|*"checksum mismatch"*|*verifying*)
			echo "$out" >&2
			echo "FAIL: go.sum does not match the module proxy's" >&2
			exit 1 ;;
		esac
		echo "$out" | tail -3
		echo "SKIP: the Go module proxy is not reachable (GOPROXY=$(go env GOPROXY))"
		exit 77
	fi
	go build ./...
	go vet ./...
	echo "ok: go build and go vet of go/ in module mode, go.sum verified"
	exit 0
fi
GOWORK=$(sh "$here/gowork.sh" "$work" "$mod" "$peer")
GOPROXY=off GOFLAGS=
export GOWORK GOPROXY GOFLAGS
if [ -z "${GOCACHE:-}${XDG_CACHE_HOME:-}${HOME:-}" ]; then
	GOCACHE=$work/gocache
	export GOCACHE
fi
case $what in
vet)
	bad=$(cd "$mod" && gofmt -l .; cd "$peer" && gofmt -l .)
	[ -z "$bad" ] || { echo "gofmt: not formatted: $bad" >&2; exit 1; }
	(cd "$mod" && go vet ./...)
	(cd "$peer" && go vet ./...)
	echo "ok: gofmt and go vet clean"
	;;
test)
	cd "$mod"
	go test -race -count=1 -v ./... >"$work/go-test.log" 2>&1 || { cat "$work/go-test.log"; exit 1; }
	cat "$work/go-test.log"
	# A run that ran nothing must not pass.
	grep -q '^--- PASS: TestParentChildCommunication' "$work/go-test.log" ||
		{ echo "gotest: the Drop-style test did not run" >&2; exit 1; }
	;;
vectors)
	# The conformance vectors (test/vectors) against the Go ends.
	cd "$mod"
	go test -count=1 -v -run '^TestVectors$' ./ipc >"$work/go-vectors.log" 2>&1 ||
		{ cat "$work/go-vectors.log"; exit 1; }
	grep -q '^--- PASS: TestVectors ' "$work/go-vectors.log" ||
		{ cat "$work/go-vectors.log"; echo "gotest: the vectors did not run" >&2; exit 1; }
	echo "ok: $(grep -c '^    --- PASS: TestVectors/' "$work/go-vectors.log") vectors pass in Go"
	;;
*) echo "usage: $0 vet|test|vectors|module WORK GO_MODULE_DIR PEER_DIR" >&2; exit 2 ;;
esac
