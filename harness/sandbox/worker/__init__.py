"""The files shipped into every worker (seccomp, gvisor, docker): the worker loop, the job
driver, the forked job process, its confinement layers and its audit hook.

They are standalone scripts, not modules of this package: the pool copies them (with
``../_codec.py`` and ``../helpers.py``, shipped from their one place on the host side) into a
private directory and the worker imports them from there by their bare names.  Nothing here may
import ``stopbox``.
"""
