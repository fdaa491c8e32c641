"""Exhaust memory with Python objects."""


def attack(ctx):
    hog = []
    while True:
        hog.append(bytearray(50 * 1024 * 1024))
