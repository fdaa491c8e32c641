"""Blind the in-process monitor (clear the audit hooks through ctypes), then try socket
with raw syscalls: the job must not end ok with no violation (seen outside the job)."""
# stopbox-attack-include: _blind


def attack(ctx):
    tried = [blind()]
    tried.append(raw(41, 2, 1, 0))  # socket(AF_INET, SOCK_STREAM, 0)
    return tried
