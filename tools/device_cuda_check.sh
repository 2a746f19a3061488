#!/usr/bin/env bash
# The CUDA checks for a GPU machine that cannot reach PyPI: builds pycuda there from sources
# carried in .device-wheels/ (fetch them first, on a machine that can:
#   pip download --no-deps --no-binary pycuda -d .device-wheels pycuda 'pytools==2023.1.1' platformdirs typing_extensions
# ), then runs the GPU tests (the kernel through pycuda, and edge's own launcher on a worker
# thread) and the kernel's timing against the CPU path. Needs python3 with numpy, OpenCV and
# pytest, nvcc (to build pycuda only) and a GPU on that machine. The checks themselves run as
# the service does: nvcc off PATH and no writable HOME, so the kernel must come from the
# shipped PTX (edge/gpu/ptx/), and must match the CPU path within one 8-bit level (1/255).
# Output goes to stdout; the build log to $OUT if set.
set -u
cd "$(dirname "$0")/.."
out="${OUT:-/tmp}"
python3 --version
python3 -c "import numpy, cv2; print('numpy', numpy.__version__, 'opencv', cv2.__version__)"
nvidia-smi -L
nvcc --version | tail -1
target=/tmp/edge-pycuda
echo "building pycuda from .device-wheels/ ..."
if ! python3 -m pip install --no-index --no-build-isolation --no-deps --target "$target" \
    .device-wheels/pycuda-*.tar.gz .device-wheels/pytools-*.whl .device-wheels/platformdirs-*.whl \
    .device-wheels/typing_extensions-*.whl >"$out/pycuda-build.log" 2>&1; then
    echo "pycuda did not build; the end of its log:"
    tail -30 "$out/pycuda-build.log"
    exit 1
fi
export PYTHONPATH="$target:$PWD"
# PATH without any directory that holds nvcc, and a HOME nothing can be written to.
no_nvcc_path=$(printf '%s' "$PATH" | tr ':' '\n' | while read -r d; do [ -x "$d/nvcc" ] || printf '%s:' "$d"; done)
export PATH="${no_nvcc_path%:}" HOME=/nonexistent
if command -v nvcc >/dev/null; then echo "nvcc still on PATH: $(command -v nvcc)"; exit 1; fi
python3 -c "import pycuda.driver as d; d.init(); print('pycuda', __import__('pycuda').VERSION_TEXT, 'on', d.Device(0).name(), 'sm', d.Device(0).compute_capability())"
python3 -m pytest --noconftest -p no:cacheprovider -rs -q tests/gpu/
python3 tools/bench_cuda_preprocess.py
