"""network: sockets, URL and HTTP libraries."""

from stopbox.detectors.network import (  # noqa: F401 - importing registers the rules
    net001_network_use,
    net002_numpy_url,
)
