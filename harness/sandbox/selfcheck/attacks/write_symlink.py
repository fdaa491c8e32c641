"""Write outside through symlinks placed in the workdir."""
import os


def attack(ctx):
    out = []
    for i, path in enumerate(ctx["markers"].values()):
        try:
            os.symlink(path, f"l{i}")
            with open(f"l{i}", "w") as f:
                f.write("escaped")
        except OSError as exc:
            out.append(repr(exc))
    try:
        os.symlink(os.path.dirname(ctx["secret_file"]), "dirlink")
        with open("dirlink/" + os.path.basename(ctx["markers"]["tmp"]), "w") as f:
            f.write("escaped")
    except OSError as exc:
        out.append(repr(exc))
    return out
