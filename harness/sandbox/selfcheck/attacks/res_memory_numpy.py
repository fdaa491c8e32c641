"""Exhaust memory with numpy arrays, touching every page."""
import numpy as np


def attack(ctx):
    hog = []
    while True:
        hog.append(np.ones(50 * 1024 * 1024 // 8))
