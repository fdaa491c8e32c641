"""Blind the in-process monitor (clear the audit hooks through ctypes), then try fork
with raw syscalls: the job must not end ok with no violation (seen outside the job)."""
# stopbox-attack-include: _blind


def attack(ctx):
    tried = [blind()]
    tried.append(raw(57))  # fork(); a child (if any) exits at once
    if tried[-1][0] == 0:
        os._exit(0)
    return tried
