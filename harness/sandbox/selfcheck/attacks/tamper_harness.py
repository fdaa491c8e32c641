"""Import and patch the harness, and read its (secret) sources."""
import sys


def attack(ctx):
    out = []
    for path in ctx["harness_files"]:
        try:
            out.append(open(path).read())
        except OSError as exc:
            out.append(repr(exc))
    try:
        import stopbox.harness.sandbox._pool as pool  # noqa: F401

        pool.WATCHDOG_GRACE_S = 10**9
        out.append("imported harness")
    except Exception as exc:
        out.append(repr(exc))
    worker = sys.modules.get("__main__")
    for name in list(getattr(worker, "__dict__", {})):
        try:
            setattr(worker, name, None)
        except Exception:
            pass
    for mod in ("_codec", "_child", "_jobrun", "_confine"):
        m = sys.modules.get(mod)
        if m is not None:
            for name in list(vars(m)):
                if not name.startswith("__"):
                    try:
                        setattr(m, name, None)
                    except Exception:
                        pass
    return out
