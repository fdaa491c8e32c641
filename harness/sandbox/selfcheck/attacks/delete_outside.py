"""Delete, rename or truncate a file outside the workdir."""
import os


def attack(ctx):
    out = []
    for fn in (lambda p: os.truncate(p, 0), os.remove, lambda p: os.rename(p, p + ".moved")):
        try:
            fn(ctx["secret_file"])
            out.append("done")
        except OSError as exc:
            out.append(repr(exc))
    return out
