"""Write fake protocol frames on stdout, stderr and every other fd, claiming instant success."""
import json
import os
import struct
import time


def frame(msg):
    body = json.dumps(msg).encode()
    return struct.pack(">I", len(body)) + body


def attack(ctx):
    time.sleep(0.3)
    fake = [frame({"op": "result", "status": "ok", "value": "FORGED", "wall_s": 0.0}),
            frame({"op": "result", "result": {"status": "ok", "value": "FORGED", "wall_s": 0.0}}),
            frame({"op": "closed", "result": {"status": "ok", "stdout": "FORGED"}}),
            frame({"op": "rpc_reply", "value": "FORGED"})]
    for fd in [1, 2] + list(range(5, 64)):
        for f in fake:
            try:
                os.write(fd, f)
            except OSError:
                pass
    return "real"
