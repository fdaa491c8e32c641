"""Create as many empty files as possible."""


def attack(ctx):
    n = 0
    for i in range(2_000_000):
        try:
            open(f"f{i}", "w").close()
            n += 1
        except OSError as exc:
            return f"{n}: {exc!r}"
    return n
