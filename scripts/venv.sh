#!/usr/bin/env bash
# Creates (once) and activates the project's virtual environment at .venv, reinstalling only when the
# package metadata changed. Sourced by the two README commands.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
EXTRAS="${SPECSENSE_EXTRAS:-test,beam}"
if [ ! -x "$ROOT/.venv/bin/python" ]; then
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || {
    echo "specsense_jax needs Python 3.11 or newer; $PYTHON is $("$PYTHON" --version 2>&1)." >&2; exit 1; }
  "$PYTHON" -m venv "$ROOT/.venv"
fi
STAMP="$ROOT/.venv/.specsense_installed"
WANT="$(cat "$ROOT/setup.cfg" "$ROOT/pyproject.toml" | sha256sum | cut -d' ' -f1) $EXTRAS"
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
  # -qq: errors only (setuptools' notes on editable installs are not for users)
  "$ROOT/.venv/bin/python" -m pip install -qq --upgrade pip
  "$ROOT/.venv/bin/python" -m pip install -qq -e "$ROOT[$EXTRAS]"
  echo "$WANT" > "$STAMP"
fi
# shellcheck disable=SC1091
source "$ROOT/.venv/bin/activate"
cd "$ROOT"
