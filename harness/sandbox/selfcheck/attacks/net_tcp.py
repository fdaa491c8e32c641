"""Connect to a listener on 127.0.0.1 with the socket module."""
import socket


def attack(ctx):
    try:
        s = socket.create_connection(("127.0.0.1", ctx["port"]), timeout=2)
        s.sendall(b"escaped")
        return "connected"
    except OSError as exc:
        return repr(exc)
