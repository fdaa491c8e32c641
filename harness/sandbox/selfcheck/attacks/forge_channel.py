"""Write fake frames on the job's own channel (any fd >= 3): results with forged timing, and
frames the worker must never accept from a job."""
import json
import os
import struct
import time


def frame(msg):
    body = json.dumps(msg).encode()
    return struct.pack(">I", len(body)) + body


def attack(ctx):
    time.sleep(0.3)
    for fd in range(3, 64):
        for msg in ({"op": "event", "event": {"kind": "sandbox", "event": "layers",
                                               "seccomp": False}},
                    {"op": "closed", "result": {"status": "ok", "stdout": "FORGED"}},
                    {"op": "ready"}):
            try:
                os.write(fd, frame(msg))
            except OSError:
                pass
    return "real"
