"""Spin forever."""


def attack(ctx):
    while True:
        pass
