"""Forge a result whose value the codec must reject: a tuple tag that is not a list, an object
ndarray, an array whose shape lies about its bytes, an unhashable set member."""
import fcntl
import json
import os
import struct


def attack(ctx):
    value = {"__tuple__": [{"__set__": [[1]]}, {"__tuple__": 5},
                           {"__ndarray__": {"dtype": "<f8", "shape": [10**12], "b64": ""}}]}
    body = json.dumps({"op": "result", "status": "ok", "value": value}).encode()
    data = struct.pack(">I", len(body)) + body
    for fd in range(3, 64):
        try:
            if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY:
                os.write(fd, data)
        except OSError:
            pass
    return "real"
