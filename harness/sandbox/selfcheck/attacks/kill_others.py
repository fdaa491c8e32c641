"""Signal the harness, the worker, a decoy process and process groups."""
import os
import signal


def attack(ctx):
    out = []
    targets = [(ctx["harness_pid"], signal.SIGUSR2), (ctx["decoy_pid"], signal.SIGTERM),
               (os.getppid(), signal.SIGTERM), (1, signal.SIGTERM),
               (-ctx["decoy_pid"], signal.SIGTERM), (-ctx["harness_pid"], signal.SIGUSR2)]
    for pid, sig in targets:
        try:
            os.kill(pid, sig)
            out.append(f"signalled {pid}")
        except OSError as exc:
            out.append(repr(exc))
    return out
