// SPDX-License-Identifier: Apache-2.0

module dropipc-peer-go

go 1.19
