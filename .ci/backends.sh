#!/usr/bin/env bash
# Make the gvisor and docker sandbox backends start on this machine (root, Debian).  Idempotent.
#   1. apt: runsc, docker.io, libseccomp2
#   2. /etc/docker/daemon.json: a `runsc` runtime (merged into existing settings, not clobbered)
#   3. dockerd: started in the background when not running (log: /var/log/stopbox-dockerd.log),
#      restarted when the runtime was just added; waits until `docker info` answers
#   4. the local image stopbox-sandbox:latest (docker import of the rootfs; rebuilt only when
#      its content hash changes)
#   5. checks: `runsc run` of the worker interpreter with numpy, and
#      `docker run --runtime=runsc --network=none stopbox-sandbox:latest python3 -c 'import numpy, pyseccomp'`
# Exits non-zero, saying which, when a backend cannot be made to start.
# Environment: STOPBOX_RUNSC_RUNTIME_ARGS (default "--network=none --platform=ptrace"),
#              STOPBOX_DOCKER_IMAGE (default stopbox-sandbox:latest).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
IMAGE=${STOPBOX_DOCKER_IMAGE:-stopbox-sandbox:latest}
RUNTIME_ARGS=${STOPBOX_RUNSC_RUNTIME_ARGS:---network=none --platform=ptrace}
DOCKERD_LOG=/var/log/stopbox-dockerd.log
say() { echo "backends: $*"; }
fail() { echo "backends: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "must run as root (apt, dockerd, runsc)"
[ -x "$PY" ] || fail "$PY missing: run .ci/setup.sh base first"

# 1. packages -----------------------------------------------------------------------------------
missing=()
for pkg in runsc docker.io libseccomp2; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "apt-get install ${missing[*]}"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null \
      || fail "apt-get install ${missing[*]}"
  fi
else
  say "packages present: runsc docker.io libseccomp2"
fi
RUNSC=$(command -v runsc) || fail "runsc not on PATH after install"
command -v dockerd >/dev/null || fail "dockerd not on PATH after install"
say "runsc: $RUNSC ($($RUNSC --version 2>/dev/null | head -1))"

# 2. daemon.json with the runsc runtime ------------------------------------------------------------
mkdir -p /etc/docker
changed=$("$PY" - "$RUNSC" "$RUNTIME_ARGS" <<'PY'
import json, os, sys
path = "/etc/docker/daemon.json"
runsc, args = sys.argv[1], sys.argv[2].split()
try:
    with open(path) as f:
        conf = json.load(f) if os.path.getsize(path) else {}
except FileNotFoundError:
    conf = {}
want = {"path": runsc, "runtimeArgs": args}
runtimes = conf.setdefault("runtimes", {})
if runtimes.get("runsc") == want:
    print("no")
else:
    runtimes["runsc"] = want
    tmp = path + ".stopbox-tmp"
    with open(tmp, "w") as f:
        json.dump(conf, f, indent=2)
        f.write("\n")
    os.replace(tmp, path)
    print("yes")
PY
) || fail "cannot write /etc/docker/daemon.json"
if [ "$changed" = yes ]; then say "daemon.json: runtime runsc = $RUNSC $RUNTIME_ARGS"; else say "daemon.json: runtime runsc already configured"; fi

# 3. dockerd -------------------------------------------------------------------------------------
docker_up() { timeout 10 docker info >/dev/null 2>&1; }
runtime_known() { timeout 10 docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q '"runsc"'; }
wait_docker() {
  for _ in $(seq 1 "$1"); do
    docker_up && return 0
    sleep 1
  done
  return 1
}
start_dockerd() {
  say "starting dockerd (log: $DOCKERD_LOG)"
  nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null &
  wait_docker 60 && return 0
  # Machines without iptables/bridge support: the sandbox uses --network=none anyway.
  if ! pgrep -x dockerd >/dev/null; then
    say "dockerd exited; retrying with --iptables=false --bridge=none"
    nohup dockerd --iptables=false --bridge=none >>"$DOCKERD_LOG" 2>&1 </dev/null &
    wait_docker 60 && return 0
  fi
  tail -20 "$DOCKERD_LOG" >&2 || true
  fail "dockerd did not answer within 60 s (see $DOCKERD_LOG)"
}
if docker_up; then
  if [ "$changed" = yes ] || ! runtime_known; then
    say "reloading dockerd configuration (SIGHUP)"
    pkill -HUP -x dockerd || true
    for _ in $(seq 1 20); do runtime_known && break; sleep 0.5; done
  fi
  say "dockerd running"
else
  start_dockerd
fi
runtime_known || fail "dockerd runs but does not list the runsc runtime (check /etc/docker/daemon.json)"

# 4. image ---------------------------------------------------------------------------------------
"$PY" -m stopbox.harness.sandbox.backends.image.docker_image --tag "$IMAGE" | sed 's/^/backends: /' \
  || fail "building $IMAGE"

# 5. checks ----------------------------------------------------------------------------------------
out=$(timeout 120 docker run --rm --runtime=runsc --network=none --read-only --cap-drop=ALL \
  --security-opt=no-new-privileges "$IMAGE" python3 -c 'import numpy, pyseccomp; print("ok", numpy.__version__)' 2>&1) \
  || fail "docker backend: docker run --runtime=runsc $IMAGE failed: $out"
say "docker --runtime=runsc $IMAGE: $out"
out=$(timeout 120 "$PY" - <<'PY' 2>&1
from stopbox.harness.policy import default_policy
from stopbox.harness.sandbox import started
for name in ("gvisor", "docker"):
    with started(name, default_policy(), pool_size=1) as sb:
        r = sb.exec("import numpy\ndef f():\n    return int(numpy.arange(4).sum())\n", entry="f")
        assert r.ok and r.value == 6, (name, r)
        print(f"{name} worker ok", end="; ")
PY
) || fail "worker start under gvisor/docker: $out"
say "$out"
say "gvisor and docker backends ready"
