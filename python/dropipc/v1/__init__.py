# SPDX-License-Identifier: Apache-2.0 OR MIT
# dropipc_pb2 is generated here from dropipc/v1/dropipc.proto when the package
# is built (setup.py); it is not in the source tree.
