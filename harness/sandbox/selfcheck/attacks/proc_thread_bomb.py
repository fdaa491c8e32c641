"""Start threads until something gives."""
import threading
import time


def attack(ctx):
    n = 0
    try:
        for _ in range(100000):
            threading.Thread(target=time.sleep, args=(60,), daemon=True).start()
            n += 1
    except Exception as exc:
        return f"{n} threads: {exc!r}"
    return f"{n} threads"
