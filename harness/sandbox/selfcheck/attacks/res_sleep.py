"""Sleep far past any timeout."""
import time


def attack(ctx):
    time.sleep(3600)
