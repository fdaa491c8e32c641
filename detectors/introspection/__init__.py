"""introspection-escape: reaching the interpreter's internals to get past the sandbox."""

from stopbox.detectors.introspection import (  # noqa: F401 - importing registers the rules
    int001_dunder_escape,
    int002_frame_access,
    int003_gc_introspection,
    int004_ctypes_memory,
)
