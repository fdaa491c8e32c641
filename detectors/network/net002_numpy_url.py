from __future__ import annotations

from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity


@rule(
    "NET002",
    "numpy-network-io",
    Category.NETWORK,
    Severity.HIGH,
    Confidence.HIGH,
)
class NumpyNetworkIo(Rule):
    """numpy fetches data from the network: ``np.lib.npyio.DataSource`` (and ``np.DataSource``
    in older numpy), or ``loadtxt``/``genfromtxt``/``fromregex``/``load`` given a URL (also a URL
    held in a constant).

    numpy's loaders open ``http://`` and ``ftp://`` URLs through ``DataSource``: a download with
    no network library imported.

    INVALID:
        import numpy as np
        table = np.genfromtxt("http://example.org/t.csv", delimiter=",")
    --
        import numpy as np
        URL = "https://" + "example.org/hints.txt"
        hints = np.loadtxt(URL)
    --
        import numpy as np
        src = np.lib.npyio.DataSource(None)

    VALID:
        import numpy as np
        grid = np.linspace(0.0, 1.0, 5)
    """
