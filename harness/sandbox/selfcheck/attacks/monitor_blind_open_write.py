"""Blind the in-process monitor (clear the audit hooks through ctypes), then try open for writing, mkdir, unlink, rename,
chmod and truncate outside the writable paths
with raw syscalls: the job must not end ok with no violation (seen outside the job)."""
# stopbox-attack-include: _blind


def attack(ctx):
    tried = [blind()]
    for path in (ctx["markers"]["tmp"], "/etc/stopbox-monitor-blinded", "/usr/lib/stopbox-x"):
        fd = LIBC.open(path.encode(), os.O_WRONLY | os.O_CREAT, 0o644)
        tried.append((path, fd, ctypes.get_errno()))
    for call, args in (("mkdir", (b"/usr/stopbox-dir", 0o755)), ("unlink", (b"/usr/lib/os-release",)),
                       ("rename", (b"/etc/hostname", b"/etc/stopbox-h")),
                       ("chmod", (b"/etc/passwd", 0o4777)), ("truncate", (b"/etc/passwd", 0))):
        ret = getattr(LIBC, call)(*args)
        tried.append((call, ret, ctypes.get_errno()))
    return tried
