#!/usr/bin/env bash
# The default test run (under 15 minutes on 2 cores); PyTorch 2.13.0 is the oracle.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/python -m pytest -n 2 "$@"
