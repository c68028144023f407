// SPDX-License-Identifier: Apache-2.0 OR MIT

module github.com/libdropipc/libdropipc/go

go 1.19

require google.golang.org/protobuf v1.28.1
