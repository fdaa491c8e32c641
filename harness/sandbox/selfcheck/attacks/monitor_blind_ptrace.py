"""Blind the in-process monitor (clear the audit hooks through ctypes), then try ptrace
with raw syscalls: the job must not end ok with no violation (seen outside the job)."""
# stopbox-attack-include: _blind


def attack(ctx):
    tried = [blind()]
    tried.append(raw(101, 16, os.getppid() or 1, 0, 0))  # ptrace(PTRACE_ATTACH, parent)
    return tried
