#!/usr/bin/env bash
# `make test` after set-up and lint: the full suite, covering what CI covers.
#   As root, the gVisor and docker backends (and chromium) are set up first (.ci/backends.sh:
#   apt runsc + docker.io, dockerd with the runsc runtime, the local image), as .ci/run does; not
#   as root, or when that set-up fails, their tests are skipped.  Either way the last lines say
#   which sandbox backends ran and how to enable the others.
# Environment: STOPBOX_SKIP_BACKEND_SETUP=1 (backends already set up, e.g. by .ci/run),
#              PYTEST_ARGS (extra pytest arguments, also passed as "$@").
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
setup_note=""

if [ -z "${STOPBOX_SKIP_BACKEND_SETUP:-}" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "test: setting up the gvisor and docker backends (.ci/backends.sh)"
    if ! bash .ci/backends.sh; then
      setup_note="the backend set-up failed (output above)"
    fi
    bash .ci/setup.sh browser || echo "test: chromium could not be installed"
  else
    setup_note="not root: gvisor and docker were not set up"
  fi
fi

"$BIN/pytest" "$@"
rc=$?

echo
"$BIN/python" - "$setup_note" <<'PY' || true
import shutil
import sys

from stopbox.harness.sandbox import available_backends

note = sys.argv[1]
status = {name: why for name, why in available_backends().items() if name != "none"}
ran = [name for name, why in status.items() if why is None]
skipped = {name: why for name, why in status.items() if why is not None}
print("test: sandbox backends available to this run: " + (", ".join(ran) or "none"))
for name, why in skipped.items():
    print(f"test: SKIPPED backend {name}: {why}")
if skipped:
    if note:
        print(f"test: ({note})")
    print("test: to cover them as CI does: run `make test` as root (it runs "
          "`.ci/setup.sh backends`), or `sudo make setup-backends` once, then `make test`; "
          "STOPBOX_REQUIRE_BACKENDS=seccomp,gvisor,docker turns those skips into failures")
if not (shutil.which("chromium") or shutil.which("chromium-browser")):
    print("test: SKIPPED the HTML report browser test: chromium is not installed "
          "(as root: `.ci/setup.sh browser`)")
PY
exit $rc
