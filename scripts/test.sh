#!/usr/bin/env bash
# The README's test command: sets up .venv and runs the whole suite (slow end-to-end tests included).
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/venv.sh"
# Two workers: XLA compiles single-threaded, so two test processes keep both cores busy (~25 % faster here).
exec python -m pytest -q -ra -n "${SPECSENSE_TEST_WORKERS:-2}" "$@"
