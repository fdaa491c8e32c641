"""Fill the disk: big files in the workdir and in /tmp."""


def attack(ctx):
    written = 0
    chunk = b"x" * (1 << 20)
    for i in range(100000):
        for d in (".", "/tmp", "/var/tmp", "/dev/shm"):
            try:
                with open(f"{d}/fill{i}", "wb") as f:
                    for _ in range(64):
                        f.write(chunk)
                        written += len(chunk)
            except OSError:
                pass
        if written > (4 << 30):
            break
    return written
