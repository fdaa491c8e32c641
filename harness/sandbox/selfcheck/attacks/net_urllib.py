"""Fetch a URL from the listener with urllib."""
import urllib.request


def attack(ctx):
    try:
        return urllib.request.urlopen(f"http://127.0.0.1:{ctx['port']}/", timeout=2).read()
    except Exception as exc:
        return repr(exc)
