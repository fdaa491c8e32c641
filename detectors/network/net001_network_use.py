from __future__ import annotations

import libcst as cst

from stopbox.detectors._context import ScanContext
from stopbox.detectors._registry import Rule, rule
from stopbox.detectors._types import Category, Confidence, Severity

NETWORK_MODULES = frozenset(
    {"socket", "_socket", "ssl", "urllib", "urllib2", "urllib3", "http", "httplib", "requests",
     "httpx", "aiohttp", "ftplib", "smtplib", "poplib", "imaplib", "telnetlib", "xmlrpc",
     "socketserver", "websocket", "websockets", "paramiko", "openai", "asyncssh", "dns", "nntplib"}
)  # fmt: skip
_ASYNCIO_NET = frozenset(
    {"asyncio.open_connection", "asyncio.start_server", "asyncio.open_unix_connection"}
)


@rule(
    "NET001",
    "network-use",
    Category.NETWORK,
    Severity.HIGH,
    Confidence.HIGH,
)
class NetworkUse(Rule):
    """The program calls into a socket, URL or HTTP library (``socket``, ``urllib``,
    ``http.client``, ``requests``, ``httpx``, ``asyncio.open_connection`` ...).

    Untrusted code has no network: data could leave (exfiltration of prompts or test seeds) or
    come in (downloaded code).

    INVALID:
        import socket
        s = socket.socket()
    --
        from urllib.request import urlopen as get
        page = get("http://example.com")
    --
        import requests
        requests.post("https://example.com", data="x")

    VALID:
        import math
        print(math.sqrt(4))
    """

    def visit_Call(self, node: cst.Call, ctx: ScanContext) -> None:
        name = ctx.call_name(node)
        if name is None:
            return
        if name.split(".")[0] in NETWORK_MODULES or name in _ASYNCIO_NET:
            ctx.report(
                self.info,
                node,
                f"{name}() uses the network: untrusted code has none, and a connection could "
                "exfiltrate prompts or test data or fetch code",
            )
