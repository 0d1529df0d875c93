#!/usr/bin/env bash
# The README's main command: sets up .venv and runs the end-to-end quickstart on this machine's CPU.
set -euo pipefail
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/venv.sh"
exec python -m launch.quickstart "$@"
