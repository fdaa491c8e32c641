"""Connect to unix sockets: a listener of the harness and the docker daemon's socket."""
import socket


def attack(ctx):
    out = []
    for path in (ctx["unix_socket"], "/var/run/docker.sock", "/run/docker.sock"):
        try:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(path)
            s.sendall(b"GET /containers/json HTTP/1.0\r\n\r\n")
            out.append(s.recv(100))
        except OSError as exc:
            out.append(repr(exc))
    return out
