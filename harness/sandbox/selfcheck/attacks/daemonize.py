"""Double-fork and setsid a daemon that outlives the job."""
import os
import time


def attack(ctx):
    try:
        pid = os.fork()
    except OSError as exc:
        return repr(exc)
    if pid == 0:
        os.setsid()
        if os.fork() == 0:
            open(ctx["markers"]["tmp"], "w").write("daemon alive")
            time.sleep(60)
        os._exit(0)
    return "daemonized"
