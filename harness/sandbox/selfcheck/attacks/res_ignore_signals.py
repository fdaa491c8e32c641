"""Ignore every catchable signal, then spin."""
import signal


def attack(ctx):
    for sig in signal.valid_signals():
        try:
            signal.signal(sig, signal.SIG_IGN)
        except (OSError, ValueError, RuntimeError):
            pass
    while True:
        pass
