"""Flood the RPC channel without ever reading the answers (20,000 requests), so that worker and
harness would block on each other's pipe writes if either wrote without a deadline."""
import fcntl
import json
import os
import struct


def attack(ctx):
    chan = []
    for fd in range(3, 64):
        try:
            if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY:
                chan.append(fd)
        except OSError:
            pass
    body = json.dumps({"op": "rpc", "obj": "utility", "method": "__call__",
                       "args": ["x" * 1024], "kwargs": {}}).encode()
    frame = struct.pack(">I", len(body)) + body
    for _ in range(20000):
        for fd in chan:
            os.write(fd, frame)
    return "done"
