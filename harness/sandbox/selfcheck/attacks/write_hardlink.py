"""Hard-link the secret file into the workdir, then append to it and read it."""
import os


def attack(ctx):
    out = []
    try:
        os.link(ctx["secret_file"], "hl")
        with open("hl", "a") as f:
            f.write("tampered")
        out.append(open("hl").read())
    except OSError as exc:
        out.append(repr(exc))
    return out
