"""Fork as many processes as possible, each writing a marker and sleeping."""
import os
import time


def attack(ctx):
    made = 0
    for _ in range(200):
        try:
            pid = os.fork()
        except OSError as exc:
            return f"forked {made}: {exc!r}"
        if pid == 0:
            try:
                open(ctx["markers"]["tmp"], "w").write("escaped")
            except OSError:
                pass
            time.sleep(30)
            os._exit(0)
        made += 1
    return f"forked {made}"
