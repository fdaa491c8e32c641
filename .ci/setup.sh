#!/usr/bin/env bash
# Set-up shared by the Makefile and .ci/run.  Idempotent.
#   .ci/setup.sh base       apt libseccomp2 (when root), .venv, pip install -e .[dev]
#   .ci/setup.sh backends   runsc + docker.io, dockerd with the runsc runtime, local sandbox image
#   .ci/setup.sh browser    chromium for the HTML report test (root)
#   .ci/setup.sh all        base and backends, plus chromium
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
what=${1:-base}

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" != 0 ]; then
    echo "setup: need root to apt-get install ${missing[*]}" >&2
    return 1
  fi
  echo "setup: apt-get install ${missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

setup_base() {
  apt_install libseccomp2 || true
  if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
  fi
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
  .venv/bin/python -m pip install -q -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' || true
  .venv/bin/python -c 'import pyseccomp, libcst, openai, structlog, typer, rich, numpy, pydantic, pathspec' \
    || { echo "setup: python dependencies failed to install" >&2; exit 1; }
}

setup_backends() {
  if [ -f .ci/backends.sh ]; then
    bash .ci/backends.sh
  else
    echo "setup: .ci/backends.sh missing" >&2
    exit 1
  fi
}

case "$what" in
  base) setup_base ;;
  backends) setup_base; setup_backends ;;
  browser) apt_install chromium chromium-driver ;;
  all) setup_base; setup_backends; apt_install chromium chromium-driver ;;
  *) echo "usage: .ci/setup.sh base|backends|browser|all" >&2; exit 2 ;;
esac
