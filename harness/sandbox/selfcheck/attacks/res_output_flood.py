"""Flood stdout and stderr."""
import os
import sys


def attack(ctx):
    line = "flood " * 1000 + "\n"
    while True:
        sys.stdout.write(line)
        sys.stderr.write(line)
        os.write(1, line.encode())
