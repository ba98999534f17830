#!/usr/bin/env bash
# The deployment linters `make test` runs (hadolint, checkov) in their own environment,
# .venv-tools: checkov brings ~100 packages that have no place beside the gateway's pins.
# Idempotent; reinstalls only when requirements/tools.txt changes.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=$(sha256sum requirements/tools.txt | cut -c1-32)
if [ -f .venv-tools/.sotong-stamp ] && [ "$(cat .venv-tools/.sotong-stamp)" = "$stamp" ] \
    && [ -x .venv-tools/bin/checkov ] && [ -x .venv-tools/bin/hadolint ]; then
  exit 0
fi
printf '\n\033[1m[setup] deployment linters (.venv-tools): hadolint, checkov\033[0m\n'
python=$(.venv/bin/python -c 'import sys; print(sys._base_executable)')
[ -x .venv-tools/bin/python ] || "$python" -m venv .venv-tools
.venv-tools/bin/python -m pip install -q --upgrade pip
.venv-tools/bin/python -m pip install -q -r requirements/tools.txt
echo "$stamp" > .venv-tools/.sotong-stamp
