"""Close every file descriptor, then keep running."""
import os


def attack(ctx):
    os.closerange(0, 4096)
    while True:
        pass
