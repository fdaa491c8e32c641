"""Start a program with subprocess, os.system, os.posix_spawn."""
import os
import subprocess


def attack(ctx):
    marker = ctx["markers"]["tmp"]
    out = []
    for fn in (
        lambda: subprocess.run(["/bin/sh", "-c", f"echo escaped > {marker}"]),
        lambda: os.system(f"echo escaped > {marker}"),
        lambda: os.posix_spawn("/bin/sh", ["sh", "-c", f"echo escaped > {marker}"], {}),
    ):
        try:
            out.append(repr(fn()))
        except Exception as exc:
            out.append(repr(exc))
    return out
