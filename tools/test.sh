#!/usr/bin/env bash
# Sets up everything the tests need, then runs lint, type checks and the test suite.
# Usage: ./tools/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[test,opencv]'
# The stubs declare a dependency on TensorRT itself, which only installs on NVIDIA hosts.
.venv/bin/python -m pip install -q --no-deps 'tensorrt-stubs==10.13.0.35.1'
./tools/install_test_deps.sh

.venv/bin/ruff check edge tests tools
.venv/bin/ruff format --check edge tests tools
.venv/bin/mypy
# The TensorRT code again, against tensorrt-stubs (a repaired copy: the published stubs have syntax errors).
.venv/bin/python tools/typecheck_tensorrt.py
exec .venv/bin/python -m pytest "$@"
