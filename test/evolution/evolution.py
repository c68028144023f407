#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0 OR MIT
"""Schema evolution: a writer built from a NEWER schema talks to readers
built from the installed (old) one.

The newer schema is the installed dropipc.proto (found through pkg-config by
test/peers/setup.sh) with a field added to ChildArgs and a new Envelope body:

  string new_field = 99;        in ChildArgs
  Ping ping = 9;                in Envelope.body, message Ping { string note = 1; }

  evolution.py --work WORK write CASE      write CASE's frames on fd 3 (the
                                           C test, test/evolution/evolution.c,
                                           reads them with the C library)
  evolution.py --work WORK frames CASE     write CASE's frames to stdout
  evolution.py --work WORK peers           old-schema Go and Python readers

Run it with WORK/venv's Python. A process never loads both schemas (they
would clash in protobuf's descriptor pool): the newer one is loaded only by
`write` and `frames`, which do not import the dropipc package.
"""
import argparse
import os
import shutil
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
PEERS = os.path.join(HERE, "..", "peers")
PROTO = "dropipc/v1/dropipc.proto"
NEW_FIELD = "  string new_field = 99;\n"
NEW_BODY = "    Ping ping = 9;\n"
NEW_MESSAGE = "\nmessage Ping {\n  string note = 1;\n}\n"
TIMEOUT = 30


def newer_schema(work, out):
    """Generates Python for the newer schema into out; returns its module,
    loaded from its file (the dropipc package, if installed, is not used)."""
    import importlib.util
    with open(os.path.join(work, "protodir")) as f:
        protodir = f.read().strip()
    with open(os.path.join(protodir, PROTO)) as f:
        text = f.read()
    for anchor, add in (("message ChildArgs {\n", NEW_FIELD), ("  oneof body {\n", NEW_BODY)):
        assert anchor in text, "the installed schema has no %r" % anchor
        text = text.replace(anchor, anchor + add, 1)
    src = os.path.join(out, "proto")
    os.makedirs(os.path.join(src, "dropipc", "v1"))
    with open(os.path.join(src, PROTO), "w") as f:
        f.write(text + NEW_MESSAGE)
    subprocess.run(["protoc", "--proto_path=" + src, "--python_out=" + out, PROTO], check=True)
    spec = importlib.util.spec_from_file_location(
        "newer_dropipc_pb2", os.path.join(out, "dropipc", "v1", "dropipc_pb2.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def frame(payload, version=1):
    return struct.pack("<4sHHII", b"DIPC", version, 0, len(payload), 0) + payload


def new_args(pb):
    sys.path.insert(0, os.path.join(PEERS, "python"))
    import peerutil  # the example ChildArgs, built with the schema given
    args = peerutil.example_args(pb, ["true"])
    args.new_field = "from a newer writer"
    return args


def frames(pb, case):
    """The frames a newer writer sends for each case."""
    args = pb.Envelope(child_args=new_args(pb)).SerializeToString()
    ping = pb.Envelope(ping=pb.Ping(note="are you there?")).SerializeToString()
    return {
        "new-field": [frame(args)],
        # The stream stays usable after an unsupported message.
        "new-body": [frame(ping), frame(args)],
        "version-2": [frame(args, version=2)],
    }[case]


def newer_frames(work, case):
    with tempfile.TemporaryDirectory() as tmp:
        pb = newer_schema(work, tmp)
        return b"".join(frames(pb, case))


def write(work, case):
    data = newer_frames(work, case)
    fd = 3
    while data:
        data = data[os.write(fd, data):]
    # Wait for the reader to hang up, so that nothing is lost in between
    # (a reader that stopped early leaves data unread: a reset).
    try:
        os.read(fd, 1)
    except ConnectionResetError:
        pass


def check(cond, what, detail=""):
    if not cond:
        print("FAIL: %s\n%s" % (what, detail), file=sys.stderr)
        sys.exit(1)


def class_name(lang, cls):
    """The error class as each reader prints it: DROPIPC_ERR_* in C, Go
    and Python alike (lang is kept for the callers' messages)."""
    del lang
    return "DROPIPC_ERR_" + cls


def peers(work):
    """The old-schema Go and Python children (the peers) read a newer writer."""
    import socket
    import dropipc  # the installed schema
    sys.path.insert(0, os.path.join(PEERS, "python"))
    import peerutil
    readers = {
        "go": [os.path.join(work, "bin", "dropipc-peer-go"), "child"],
        "python": [sys.executable, os.path.join(PEERS, "python", "peer.py"), "child"],
    }
    env = dict(os.environ, PYTHONPATH=os.path.join(PEERS, "python"))
    # What the old reader must see of the newer args: every old field.
    want = peerutil.dump(peerutil.example_args(dropipc.pb, ["true"]))
    with tempfile.TemporaryDirectory() as tmp:
        for lang, argv in readers.items():
            for case in ("new-field", "new-body", "version-2"):
                data = subprocess.run([sys.executable, os.path.abspath(__file__), "--work", work,
                                       "frames", case], check=True, capture_output=True,
                                      timeout=TIMEOUT).stdout
                dump = os.path.join(tmp, "args")
                if os.path.exists(dump):
                    os.unlink(dump)
                a, b = socket.socketpair()
                proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, pass_fds=(3,),
                                        preexec_fn=lambda: os.dup2(b.fileno(), 3),
                                        env=dict(env, DROPIPC_DUMP_ARGS=dump))
                b.close()
                a.sendall(data)
                end = dropipc.ParentEnd(a)
                end.settimeout(TIMEOUT)
                try:
                    result = None
                    # Not at a terminal: the child sends no pty. The raw
                    # frames did not ask for ExecConfirm, as an older parent
                    # would not: the child sends none.
                    end.wait_exec()
                except dropipc.IpcError as e:
                    result = e
                end.close()
                out, err = proc.communicate(timeout=TIMEOUT)
                what = "old-schema %s reader, %s" % (lang, case)
                if case == "new-field":
                    check(b"from a newer writer" in data, "the writer's frame has the new field")
                    check(isinstance(result, dropipc.NoExec) and proc.returncode == 0,
                          what + ": handshake completes, with no exec confirmation asked for "
                          "and none sent", "%r %r" % (result, err))
                    with open(dump, "rb") as f:
                        got = f.read()
                    check(got == want, what + ": the reader got every old field",
                          "%s\n---\n%s" % (got.decode(errors="replace"), want.decode(errors="replace")))
                elif case == "new-body":
                    msg = ("recv args: unsupported message: envelope field 9 is not "
                           "known to protocol version 1 [%s]" % class_name(lang, "UNSUPPORTED"))
                    check(msg.encode() in err, what + ": " + msg, err.decode())
                    check(result is not None and result.child_error is not None,
                          what + ": the reader reports it", repr(result))
                else:
                    msg = ("recv args: peer speaks protocol version 2, this end speaks "
                           "version 1 [%s]" % class_name(lang, "PROTO"))
                    check(msg.encode() in err, what + ": " + msg, err.decode())
                check(proc.returncode in (0, 125), what + ": no crash", err.decode())
                print("ok: %s" % what)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("mode", choices=["write", "frames", "peers"])
    ap.add_argument("case", nargs="?")
    opts = ap.parse_args()
    if opts.mode == "write":
        write(opts.work, opts.case)
    elif opts.mode == "frames":
        sys.stdout.buffer.write(newer_frames(opts.work, opts.case))
    else:
        peers(opts.work)


if __name__ == "__main__":
    main()
