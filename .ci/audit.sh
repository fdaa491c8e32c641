#!/usr/bin/env bash
# `make audit` after set-up: an offline STOP run (synthetic LM, quick budgets over the default
# policy, seccomp backend by default), `stopbox audit --execute` of every program it generated, a short bypass
# study, the reports in reports/latest/ and a summary table.  Exits non-zero when a step fails
# (audit findings are results, not failures: `stopbox audit` exit 1 is expected).
#
# Knobs (environment): STOPBOX_AUDIT_OUT (reports/latest), STOPBOX_AUDIT_BACKEND (the first of
# make's BACKENDS, seccomp by default), STOPBOX_AUDIT_ITERATIONS (2), STOPBOX_AUDIT_STUDY_SAMPLES
# (200), STOPBOX_AUDIT_RED_TEAM_RATE (0.05), STOPBOX_AUDIT_RUNS (runs: where the run and study
# directories go), STOPBOX_BIN (.venv/bin).
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${STOPBOX_BIN:-.venv/bin}
OUT=${STOPBOX_AUDIT_OUT:-reports/latest}
BACKENDS=${BACKENDS:-seccomp}
BACKEND=${STOPBOX_AUDIT_BACKEND:-${BACKENDS%%,*}}  # `make audit BACKENDS=gvisor` runs on gVisor
ITERATIONS=${STOPBOX_AUDIT_ITERATIONS:-2}
STUDY_SAMPLES=${STOPBOX_AUDIT_STUDY_SAMPLES:-200}
RED_TEAM=${STOPBOX_AUDIT_RED_TEAM_RATE:-0.05}
RUNS=${STOPBOX_AUDIT_RUNS:-runs}
stamp=$(date -u +%Y%m%d-%H%M%S)-$$
run_dir=$RUNS/audit-$stamp
study_dir=$RUNS/study-audit-$stamp
start=$(date +%s)

step() { printf '\n==> %s\n' "$*" >&2; }
fail() { echo "audit: step failed: $*" >&2; exit 1; }

rm -rf "$OUT"
mkdir -p "$OUT" "$RUNS"

step "offline STOP run ($run_dir): synthetic LM, red-team rate $RED_TEAM, $BACKEND backend"
"$BIN/stopbox" run --lm "synthetic:red_team_rate=$RED_TEAM" --policy quick --backend "$BACKEND" \
  --iterations "$ITERATIONS" --out "$run_dir" || fail "stopbox run"
ln -sfn "$(basename "$run_dir")" "$RUNS/latest"  # what `make report` renders

step "stopbox audit --execute of the $(ls "$run_dir/programs" | wc -l) programs the run generated"
set +e
# --isolated: the harness audits its own run output (runs/ is git-ignored; no config file of the
# checkout may loosen this gate)
"$BIN/stopbox" audit "$run_dir/programs" --isolated --execute --backend "$BACKEND" \
  --policy default --format sarif --out "$OUT/audit.sarif"
rc=$?
set -e
[ "$rc" -le 1 ] || fail "stopbox audit (exit $rc)"
[ -s "$OUT/audit.sarif" ] || fail "stopbox audit wrote no SARIF"

step "bypass study ($STUDY_SAMPLES attempts per prompt, synthetic LM)"
"$BIN/stopbox" study bypass --lm synthetic --red-team-rate "$RED_TEAM" --samples "$STUDY_SAMPLES" \
  --jobs 2 --out "$study_dir" || fail "stopbox study bypass"
cp "$study_dir/study.md" "$study_dir/study.json" "$OUT/"

step "reports"
"$BIN/stopbox" report "$run_dir" --format json --stdout > "$OUT/report.json" || fail "report json"
for fmt in md html; do
  "$BIN/stopbox" report "$run_dir" --format "$fmt" --out "$OUT/report.$fmt" >/dev/null \
    || fail "report $fmt"
done
for f in report.html report.md report.json audit.sarif study.md; do
  [ -s "$OUT/$f" ] || fail "$OUT/$f is missing"
done

step "summary ($(( $(date +%s) - start ))s)"
"$BIN/python" -m stopbox.harness.reporting.summary "$OUT" || fail "summary"
echo "run: $run_dir  study: $study_dir  reports: $OUT/"
