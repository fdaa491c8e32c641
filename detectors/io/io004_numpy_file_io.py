from __future__ import annotations

from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity


@rule(
    "IO004",
    "numpy-file-io",
    Category.IO,
    Severity.MEDIUM,
    Confidence.HIGH,
)
class NumpyFileIo(Rule):
    """numpy reads or writes files on its own: ``np.save``/``savez``/``savetxt``, ``np.load``
    (also unpickling with ``allow_pickle``), ``loadtxt``/``genfromtxt``/``fromregex``,
    ``fromfile``, ``ndarray.tofile``/``dump``, ``memmap``, ``np.lib.npyio``/``np.lib.format``.

    They read, write and map files with no ``open`` in sight, so the file rules never see them.
    Used, referenced (``reader = np.fromfile``) or imported (``from numpy import save``), they are
    reported here; fetching a URL is NET002.  The names are data (``[io]`` in
    policies/surfaces/modules.toml).

    INVALID:
        import numpy as np
        np.save("population.npy", np.zeros(3))
    --
        import numpy as np
        reader = np.fromfile
        data = reader("/etc/hostname", dtype=np.uint8)
    --
        import numpy as np
        np.arange(4).tofile("ranks.bin")
    --
        from numpy import memmap as shared
        m = shared("scores.bin", dtype="float64", mode="w+", shape=(8,))

    VALID:
        import numpy as np
        best = np.argmax(np.array([0.2, 0.9]))
    """
