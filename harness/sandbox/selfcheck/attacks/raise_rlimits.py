"""Raise the memory and CPU limits, then use more memory than allowed."""
import resource

import numpy as np


def attack(ctx):
    out = []
    for res in (resource.RLIMIT_AS, resource.RLIMIT_CPU, resource.RLIMIT_NOFILE):
        try:
            resource.setrlimit(res, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
            out.append("raised")
        except (OSError, ValueError) as exc:
            out.append(repr(exc))
    hog = np.ones(int(ctx["memory_mb"] * 1.5) * 1024 * 1024 // 8)
    return out + [float(hog.sum())]
