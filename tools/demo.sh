#!/usr/bin/env bash
# Sets up edge in .venv and runs it on the bundled demo images with every fixture model.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
.venv/bin/python -m pip install -q -e '.[cpu]'

M=tests/fixtures/models
I=examples/images
run() {  # task image: print the v1 JSON, with long base64 masks shortened for the terminal
  echo "== edge infer --model $M/shapes-$1.onnx $I/$2"
  .venv/bin/edge infer --model "$M/shapes-$1.onnx" "$I/$2" |
    sed -E 's/("segmentation_mask":"[A-Za-z0-9+\/]{24})[A-Za-z0-9+\/=]*"/\1..."/'
}
run detect shapes.jpg
run segment shapes.jpg
run semantic shapes.jpg
run pose arrows.jpg
run classify single.jpg
run multilabel several.jpg
