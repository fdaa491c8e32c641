"""Build the local docker image of the sandbox (no registry): ``docker import`` of the root
filesystem assembled by :mod:`stopbox.harness.sandbox.backends.image.rootfs`.

The image carries two labels: ``stopbox.rootfs`` (the content hash of its inputs; the image is
rebuilt only when it changes) and ``stopbox.python`` (the worker's interpreter inside the image)::

    python -m stopbox.harness.sandbox.backends.image.docker_image \
        [--tag stopbox-sandbox:latest] [--force]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
from pathlib import Path

from stopbox.harness.policy import SandboxLimits
from stopbox.harness.sandbox.backends.image.rootfs import ensure_rootfs, plan_rootfs

__all__ = ["image_labels", "build_image", "DEFAULT_TAG"]

DEFAULT_TAG = SandboxLimits().docker_image
LABEL_HASH = "stopbox.rootfs"
LABEL_PYTHON = "stopbox.python"


def image_labels(tag: str, docker: str = "docker") -> dict[str, str] | None:
    """The image's labels, or None when the image does not exist (or docker cannot answer)."""
    proc = subprocess.run(
        [docker, "image", "inspect", "--format", "{{json .Config.Labels}}", tag],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    if proc.returncode != 0:
        return None
    try:
        labels = json.loads(proc.stdout.strip() or "null")
    except json.JSONDecodeError:
        return None
    return {str(k): str(v) for k, v in (labels or {}).items()}


def build_image(tag: str = DEFAULT_TAG, *, force: bool = False, docker: str = "docker") -> str:
    """Import the root filesystem as ``tag`` unless an image with the same hash exists.

    Returns a one-line description of what was done.
    """
    plan = plan_rootfs(fresh=True)
    labels = image_labels(tag, docker)
    if labels is not None and labels.get(LABEL_HASH) == plan.digest and not force:
        return f"image {tag} is up to date (rootfs {plan.digest})"
    rootfs = ensure_rootfs()
    changes = [
        "ENV PATH=/usr/local/bin:/usr/bin:/bin",
        "ENV LANG=C.UTF-8",
        "WORKDIR /tmp",
        f"LABEL {LABEL_HASH}={plan.digest}",
        f"LABEL {LABEL_PYTHON}={plan.python}",
        'CMD ["python3"]',
    ]
    argv = [docker, "import"]
    for change in changes:
        argv += ["--change", change]
    argv += ["-", tag]
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin is not None
    try:
        with tarfile.open(fileobj=proc.stdin, mode="w|") as tar:
            for entry in sorted(Path(rootfs).iterdir()):
                tar.add(entry, arcname=entry.name)
    finally:
        proc.stdin.close()
    assert proc.stdout is not None
    out = proc.stdout.read()
    proc.wait(timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"docker import failed (exit {proc.returncode})")
    image_id = out.decode().strip()[:19]
    return f"image {tag} built ({image_id}, rootfs {plan.digest}, python {plan.python})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="build the local stopbox sandbox image")
    parser.add_argument("--tag", default=DEFAULT_TAG)
    parser.add_argument("--force", action="store_true", help="rebuild even when up to date")
    args = parser.parse_args(argv)
    try:
        print(build_image(args.tag, force=args.force))
    except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
        print(f"docker image: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
