"""Read a secret file outside the workdir (directly and via a symlink in the workdir)."""
import os


def attack(ctx):
    got = []
    for path in (ctx["secret_file"],):
        try:
            got.append(open(path).read())
        except OSError as exc:
            got.append(repr(exc))
    try:
        os.symlink(ctx["secret_file"], "link")
        got.append(open("link").read())
    except OSError as exc:
        got.append(repr(exc))
    try:
        got.append(repr(os.listdir(ctx["secret_dir"])))
    except OSError as exc:
        got.append(repr(exc))
    print(got)
    return got
