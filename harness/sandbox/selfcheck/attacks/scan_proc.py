"""Walk /proc looking for any process's environment or command line."""
import os


def attack(ctx):
    found = []
    try:
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError as exc:
        return repr(exc)
    for pid in pids:
        for name in ("environ", "cmdline"):
            try:
                found.append(open(f"/proc/{pid}/{name}", "rb").read().decode("latin-1"))
            except OSError:
                pass
    print(found)
    return found
