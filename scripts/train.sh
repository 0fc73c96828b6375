#!/usr/bin/env bash
# The main job: train and evaluate a model on data that needs no download.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/kindling train "$@"
