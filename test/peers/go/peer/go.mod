// SPDX-License-Identifier: Apache-2.0 OR MIT

module dropipc-peer-go

go 1.19
