"""Write files outside the workdir: a temp dir, the home dir, the project, the stdlib, the worker dir."""


def attack(ctx):
    out = []
    for path in ctx["markers"].values():
        try:
            with open(path, "w") as f:
                f.write("escaped")
            out.append("wrote " + path)
        except OSError as exc:
            out.append(repr(exc))
    return out
