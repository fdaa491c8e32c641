"""Change host file metadata: mode (setuid), owner, times and xattrs of canaries and of the
harness's own files, by path, by fd, by O_PATH fd and through libc."""
import ctypes
import os


def attack(ctx):
    libc = ctypes.CDLL(None, use_errno=True)
    at_empty_path, o_path = 0x1000, getattr(os, "O_PATH", 0o10000000)
    done = []
    for p in ctx["metadata_targets"]:
        b = p.encode()
        tries = {
            "chmod": lambda: os.chmod(p, 0o6777),
            "chown": lambda: os.chown(p, 65534, 65534),
            "utime": lambda: os.utime(p, (1, 1)),
            "xattr_user": lambda: os.setxattr(p, "user.stopbox", b"pwned"),
            "xattr_trusted": lambda: os.setxattr(p, "trusted.stopbox", b"pwned"),
            "libc_fchmodat": lambda: libc.fchmodat(-100, b, 0o4777, 0) == 0 or 1 / 0,
            "libc_lsetxattr": lambda: libc.lsetxattr(b, b"user.x", b"1", 1, 0) == 0 or 1 / 0,
        }
        for name, fn in tries.items():
            try:
                fn()
                done.append((p, name))
            except BaseException:
                pass
        for flags in (os.O_RDONLY, o_path):
            try:
                fd = os.open(p, flags)
            except OSError:
                continue
            for name, fn in (
                ("fchmod", lambda: os.fchmod(fd, 0o4777)),
                ("fchown", lambda: os.fchown(fd, 65534, 65534)),
                ("futimens", lambda: os.utime(fd, (2, 2))),
                ("fchmodat_empty", lambda: libc.fchmodat(fd, b"", 0o4777, at_empty_path) == 0
                 or 1 / 0),
            ):
                try:
                    fn()
                    done.append((p, name))
                except BaseException:
                    pass
            os.close(fd)
    return done
