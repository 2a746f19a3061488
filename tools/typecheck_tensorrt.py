#!/usr/bin/env python3
"""Type-check edge against the installed ``tensorrt-stubs``, repaired so that mypy can read them.

The published stubs (tensorrt-stubs 10.x, generated from the pybind11 module) contain a few
lines that are not valid Python (parameters named ``in``, a parameter without a default after
ones with defaults) and a module-level ``bool`` that shadows the builtin in every annotation.
mypy stops at the first syntax error in a stub, so a plain run has to treat ``tensorrt`` as
untyped (pyproject.toml says so). This script copies the stubs to a
temporary folder, repairs those lines mechanically, puts the copy first on MYPYPATH and runs
mypy with the project's own settings, so every TensorRT call in edge/ is checked against the
real signatures. Exit status: mypy's.

    python tools/typecheck_tensorrt.py            # check the edge package
    python tools/typecheck_tensorrt.py tools/x.py # or other paths too
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

STUB_FILES = ("tensorrt/__init__.pyi", "tensorrt_bindings/__init__.pyi", "tensorrt_bindings/tensorrt.pyi")
_KEYWORD_PARAM = re.compile(r"(?<=[(,] )in(?=: )|(?<=\()in(?=: )")


def find_stubs() -> Path:
    """The site-packages folder that holds tensorrt/__init__.pyi."""
    candidates = [Path(sysconfig.get_paths()["purelib"]), *(Path(p) for p in sys.path if p)]
    for base in candidates:
        if (base / STUB_FILES[2]).is_file():
            return base
    raise SystemExit("tensorrt-stubs not found; install it with: pip install --no-deps tensorrt-stubs")


def _split_params(params: str) -> list[str]:
    """Split a parameter list on top-level commas (annotations may hold brackets)."""
    out, depth, cur = [], 0, ""
    for ch in params:
        depth += ch in "([{"
        depth -= ch in ")]}"
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
        else:
            cur += ch
    if cur.strip():
        out.append(cur.strip())
    return out


def _fix_defaults(line: str) -> str:
    """Give every parameter after a defaulted one a default, as Python requires."""
    m = re.match(r"^(\s*def \w+\()(.*)(\)\s*(->.*)?:\s*)$", line)
    if not m:
        return line
    params = _split_params(m.group(2))
    seen_default = False
    for i, p in enumerate(params):
        if p.startswith("*"):
            break
        if "=" in p:
            seen_default = True
        elif seen_default:
            params[i] = p + " = ..."
    return m.group(1) + ", ".join(params) + m.group(3)


def repair(text: str) -> str:
    lines = []
    for line in text.splitlines():
        if line.startswith("import tensorrt_libs"):
            continue  # a runtime-only package with no stubs; nothing in it is typed
        if line.startswith("bool: "):
            continue  # trt.bool (a DataType) shadows the builtin and voids every "-> bool" in the stubs
        if line.lstrip().startswith("def "):
            line = _fix_defaults(_KEYWORD_PARAM.sub("in_", line))
        lines.append(line)
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    base = find_stubs()
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory(prefix="trt-stubs-") as tmp:
        for rel in STUB_FILES:
            dst = Path(tmp) / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            dst.write_text(repair((base / rel).read_text(encoding="utf-8")), encoding="utf-8")
        env = dict(os.environ, MYPYPATH=tmp)
        cmd = [sys.executable, "-m", "mypy", *argv] if argv else [sys.executable, "-m", "mypy"]
        print(f"typecheck_tensorrt: stubs from {base}, repaired copy on MYPYPATH", file=sys.stderr)
        # A separate cache: the plain run caches tensorrt as untyped and would mask the stubs.
        env["MYPY_CACHE_DIR"] = str(root / ".mypy_cache" / "tensorrt-stubs")
        return subprocess.run(cmd, cwd=root, env=env, check=False).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
