#!/usr/bin/env bash
# The tests of `make test`, in the order that keeps the suite short on two cores:
#
# 1. the unit tests on every core (pytest-xdist: each test has its own files, schema
#    and Redis keys);
# 2. the integration, fault, browser and scale tests one at a time (they start real
#    servers whose real-time speech and timing a second test beside them would slow),
#    and beside them, at the lowest CPU priority (nice 19), the unit tests again with
#    the wall clock moved (CLOCK_CHECK_AT; tests/shifted_clock): those servers leave
#    most of the CPU idle while they wait on audio, browsers and timeouts, and a niced
#    process only takes what they leave (the gateway's Whisper runs at nice 10).
#
# PYTEST_ARGS (options such as -k or -x) go to the first two; the shifted pass's output
# is kept in var/shifted-clock.log and shown at the end (whole, if it failed).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
at=${CLOCK_CHECK_AT:?CLOCK_CHECK_AT names the shifted instant}
# As make's shell read them before: quotes kept (-k "a and b" is one argument).
eval "extra=(${PYTEST_ARGS:-})"

$PY -m pytest -ra -n auto tests/unit "${extra[@]}" || exit 1

mkdir -p var
log=var/shifted-clock.log
nice -n 19 scripts/shifted-clock.sh "$at" $PY -m pytest -q -n auto -p no:cacheprovider tests/unit \
  > "$log" 2>&1 &
shifted=$!
# Stop the shifted pass too if this script is interrupted.
trap 'kill "$shifted" 2>/dev/null' EXIT

$PY -m pytest -ra --ignore=tests/unit "${extra[@]}"
main=$?

wait "$shifted"
clock=$?
trap - EXIT
if [ "$clock" -ne 0 ]; then
  cat "$log"
  echo "[shifted-clock] the unit tests failed with the clock at $at (above)" >&2
else
  head -1 "$log"
  tail -1 "$log"
fi
[ "$main" -eq 0 ] && [ "$clock" -eq 0 ]
