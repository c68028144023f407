# SPDX-License-Identifier: Apache-2.0
"""Builds dropipc.v1.dropipc_pb2 with protoc from the schema: the one named
by DROPIPC_PROTO_DIR, else the installed one (pkg-config dropipc), else the
source tree's (../proto)."""
import os
import subprocess

from setuptools import setup
from setuptools.command.build_py import build_py

PROTO = "dropipc/v1/dropipc.proto"
HERE = os.path.dirname(os.path.abspath(__file__))


def protodir():
    d = os.environ.get("DROPIPC_PROTO_DIR")
    if d:
        return d
    try:
        d = subprocess.run(["pkg-config", "--variable=protodir", "dropipc"], check=True,
                           capture_output=True, text=True).stdout.strip()
        if d and os.path.exists(os.path.join(d, PROTO)):
            return d
    except (OSError, subprocess.CalledProcessError):
        pass
    d = os.path.join(HERE, "..", "proto")
    if os.path.exists(os.path.join(d, PROTO)):
        return d
    raise SystemExit("dropipc: %s not found: install libdropipc (pkg-config dropipc), or set "
                     "DROPIPC_PROTO_DIR" % PROTO)


class BuildWithSchema(build_py):
    def run(self):
        super().run()
        d = protodir()
        print("dropipc: generating dropipc_pb2 from %s" % os.path.join(d, PROTO))
        subprocess.run(["protoc", "--proto_path=" + d, "--python_out=" + self.build_lib, PROTO],
                       check=True)


setup(cmdclass={"build_py": BuildWithSchema})
