"""Write a malformed frame on the job's channel: 100,000-deep nesting (the JSON parser's
recursion), then NaN and 1e400 (not JSON; the worker cannot re-encode them)."""
import fcntl
import os
import struct


def attack(ctx):
    def frame(body, size=None):
        return struct.pack(">I", len(body) if size is None else size) + body

    bodies = [
        b'{"op":"event","event":' + b"[" * 100000 + b"]" * 100000 + b"}",
        b'{"op":"event","event":{"kind":"audit","event":"x","args":[NaN]}}',
        b'{"op":"event","event":{"kind":"audit","event":"x","args":[1e400]}}',
    ]
    chan = []
    for fd in range(3, 64):
        try:
            if fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_WRONLY:
                chan.append(fd)
        except OSError:
            pass
    data = b"".join(frame(body) for body in bodies)
    for fd in chan:
        try:
            os.write(fd, data)
        except OSError:
            pass
    return "real"
