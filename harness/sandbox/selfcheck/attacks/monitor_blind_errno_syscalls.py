"""Blind the in-process monitor (clear the audit hooks through ctypes), then try syscalls outside the allow-list that only fail (errno)
with raw syscalls: the job must not end ok with no violation (seen outside the job)."""
# stopbox-attack-include: _blind


def attack(ctx):
    tried = [blind()]
    tried.append(raw(203, 0, 8, 0))  # sched_setaffinity
    tried.append(raw(135, 0xFFFFFFFF))  # personality(query)
    tried.append(raw(160, 7, 0))  # setrlimit(RLIMIT_NOFILE, NULL)
    tried.append(raw(16, 1, 0x5412, 0))  # ioctl(stdout, TIOCSTI): a filtered request
    return tried
