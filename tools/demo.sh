#!/usr/bin/env bash
# Sets up edge in .venv and runs the daemon's main job on the bundled demo: moving-shapes
# clips through every fixture model, results published over a local MQTT broker (started,
# and installed with apt-get where possible), a live console view of what a subscriber
# receives, and annotated snapshots in demo-output/. No camera, GPU or broker needed.
# Usage: ./tools/demo.sh [--duration SECONDS] [--out DIR] [--no-broker]
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[cpu]'
exec .venv/bin/edge demo "$@"
