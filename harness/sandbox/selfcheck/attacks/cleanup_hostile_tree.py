"""Leave a tree the worker's cleanup must survive: 3,000 levels deep, directories with mode
000, a sticky directory, a symlink loop, a link to /, a fifo, a 255-character name."""
import os


def attack(ctx):
    base = os.getcwd()
    made = 0
    try:
        for _ in range(3000):
            os.mkdir("d")
            os.chdir("d")
            made += 1
    except OSError:
        pass
    os.chdir(base)
    try:
        os.makedirs("locked/inner", exist_ok=True)
        open("locked/inner/f", "w").write("x")
        os.chmod("locked/inner", 0)
        os.chmod("locked", 0)
        os.mkdir("sticky")
        os.chmod("sticky", 0o1000)
        os.symlink("loop", "loop")
        os.symlink("/", "root")
        os.mkfifo("fifo")
        os.makedirs("w" * 255, exist_ok=True)
    except OSError:
        pass
    return made
