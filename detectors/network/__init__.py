"""network: sockets, URL and HTTP libraries."""

from stopbox.detectors.network import net001_network_use  # noqa: F401 - importing registers the rule
