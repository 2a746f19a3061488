#!/usr/bin/env bash
# Sets up everything the tests need, then runs lint, type checks and the test suite.
# Usage: ./tools/test.sh [pytest args...]
set -euo pipefail
cd "$(dirname "$0")/.."

# PYTHON picks the interpreter (e.g. PYTHON=python3.10, JetPack 6's Python); each one gets its
# own virtual environment: .venv for the default python3, .venv-py3.10 and so on for others.
PY=${PYTHON:-python3}
if [ -z "${PYTHON:-}" ]; then
  VENV=.venv
else
  VENV=.venv-py$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
fi
if [ ! -x "$VENV/bin/python" ]; then
  "$PY" -m venv "$VENV"
fi
"$VENV"/bin/python -m pip install -q --upgrade pip >/dev/null
"$VENV"/bin/python -m pip install -q -e '.[test,opencv]'
# The stubs declare a dependency on TensorRT itself, which only installs on NVIDIA hosts.
"$VENV"/bin/python -m pip install -q --no-deps 'tensorrt-stubs==10.13.0.35.1'
./tools/install_test_deps.sh
./tools/install_homeassistant.sh  # a real Home Assistant for tests/homeassistant/test_real_ha.py

"$VENV"/bin/ruff check edge tests tools
"$VENV"/bin/ruff format --check edge tests tools
"$VENV"/bin/mypy
# The TensorRT code again, against tensorrt-stubs (a repaired copy: the published stubs have syntax errors).
"$VENV"/bin/python tools/typecheck_tensorrt.py
exec "$VENV"/bin/python -m pytest "$@"
