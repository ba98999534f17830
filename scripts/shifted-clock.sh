#!/usr/bin/env bash
# Run a command with the wall clock of it, and of every Python process it starts,
# moved to another instant, ticking on from there:
#
#   scripts/shifted-clock.sh '2027-03-01 00:30 KST' .venv/bin/python -m pytest tests/unit
#
# How: tests/shifted_clock/sitecustomize.py (time-machine) in every interpreter, given
# one offset in seconds computed here, so processes started later land on the same
# instant as the ones started first. Why not libfaketime: see that file.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 'INSTANT' COMMAND [ARGS...]" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/.." && pwd)
instant=$1; shift
# date(1) knows no zone called KST; Korea has had no daylight saving time since 1988.
target=$(TZ=UTC date -d "${instant//KST/+0900}" +%s) || { echo "not an instant: $instant" >&2; exit 2; }
echo "[shifted-clock] $(TZ=Asia/Seoul date -d "@$target" '+%Y-%m-%d %H:%M %Z, %A'): $*" >&2
export SOTONG_SHIFT_CLOCK_BY=$((target - $(date +%s)))
export PYTHONPATH="$ROOT/tests/shifted_clock${PYTHONPATH:+:$PYTHONPATH}"
exec "$@"
