"""io: file writes and deletes, reads outside the workdir."""

from stopbox.detectors.io import (  # noqa: F401 - importing registers the rules
    io001_file_write,
    io002_file_delete,
    io003_read_outside_workdir,
    io004_numpy_file_io,
    io005_interactive_builtins,
)
