#!/usr/bin/env bash
# Home Assistant for tests/homeassistant/test_real_ha.py: the PyPI homeassistant package (pinned)
# on Python 3.13 in .venv-ha, with what its mqtt and frontend integrations need (the test runs HA
# with --skip-pip: nothing is installed at run time). Idempotent: a second run checks and exits.
# HA_VERSION picks another release; PY313 another Python 3.13 interpreter.
set -euo pipefail
cd "$(dirname "$0")/.."

HA_VERSION=${HA_VERSION:-2025.4.4}
VENV=.venv-ha
CHECK="import sys, homeassistant.const as c, paho.mqtt, hass_frontend; sys.exit(c.__version__ != '$HA_VERSION')"
if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "$CHECK" 2>/dev/null; then
  exit 0
fi
# A pyenv shim named python3.13 may exist and fail, so each candidate must really run.
PY313_FOUND=""
for candidate in ${PY313:-} python3.13 "$HOME"/.pyenv/versions/3.13*/bin/python3.13 /root/.pyenv/versions/3.13*/bin/python3.13; do
  if "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null; then
    PY313_FOUND=$candidate
    break
  fi
done
PY313=$PY313_FOUND
if [ -z "$PY313" ]; then
  echo "install_homeassistant: Home Assistant $HA_VERSION needs Python 3.13; none found (set PY313=/path/to/python3.13," \
    "e.g. pyenv install 3.13)" >&2
  exit 1
fi
[ -x "$VENV/bin/python" ] || "$PY313" -m venv "$VENV"
# HA pins its dependencies in package_constraints.txt; without it pip backtracks for a long time.
WHEELS=$(mktemp -d)
trap 'rm -rf "$WHEELS"' EXIT
"$VENV/bin/pip" download -q --no-deps -d "$WHEELS" "homeassistant==$HA_VERSION"
"$VENV/bin/python" - "$WHEELS" <<'PY'
import pathlib, sys, zipfile
d = pathlib.Path(sys.argv[1])
wheel = next(d.glob("homeassistant-*.whl"))
(d / "constraints.txt").write_bytes(zipfile.ZipFile(wheel).read("homeassistant/package_constraints.txt"))
PY
"$VENV/bin/pip" install -q -c "$WHEELS/constraints.txt" "$WHEELS"/homeassistant-*.whl
# The integrations the test loads: mqtt (paho-mqtt) and frontend (without it HA starts in recovery mode).
REQS=$("$VENV/bin/python" - <<'PY'
import json, pathlib, homeassistant.components as comps
base = pathlib.Path(comps.__file__).parent
print(" ".join(r for name in ("mqtt", "frontend") for r in json.loads((base / name / "manifest.json").read_text())["requirements"]))
PY
)
# shellcheck disable=SC2086  # one argument per requirement
"$VENV/bin/pip" install -q -c "$WHEELS/constraints.txt" $REQS
"$VENV/bin/python" -c "$CHECK"
echo "install_homeassistant: Home Assistant $HA_VERSION ready in $VENV"
