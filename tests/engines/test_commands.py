"""``edge compile`` and ``edge engines``, through the real CLI, with a fake device and builder."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from edge.cli import main
from edge.engines import commands
from edge.engines.errors import BuildError
from edge.errors import BackendUnavailable
from tests.engines.common import DEVICE, FakeBuilder, detect_model


@pytest.fixture
def build(monkeypatch: pytest.MonkeyPatch) -> FakeBuilder:
    fake = FakeBuilder()
    monkeypatch.setattr(commands, "_device", lambda: DEVICE)
    monkeypatch.setattr(commands, "_builder", lambda: fake)
    return fake


def test_compile_builds_once_then_finds_the_engine(
    build: FakeBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model, engines = detect_model(tmp_path, name="door"), tmp_path / "engines"
    assert main(["compile", "--model", str(model), "--batch", "1:2:4", "--engines", str(engines)]) == 0
    out, err = capsys.readouterr()
    assert "door (fp16, batch 1:2:4, key " in out and "built in" in out
    engine = Path(out.strip().splitlines()[-1])
    assert engine.parent == engines / "door" and engine.suffix == ".engine" and engine.is_file()
    assert "Building engine" in err  # progress reached stderr
    assert main(["compile", "--model", str(model), "--batch", "1:2:4", "--engines", str(engines)]) == 0
    assert "already built, nothing to do" in capsys.readouterr().out and len(build.calls) == 1


def test_compile_errors_are_one_line_with_tensorrts_lines_below(
    build: FakeBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    build.error = BuildError("door: TensorRT build failed: out of memory", ["[E] Error Code 2: OutOfMemory"])
    model = detect_model(tmp_path, name="door")
    assert main(["compile", "--model", str(model), "--engines", str(tmp_path / "e")]) == 2
    err = capsys.readouterr().err
    assert "  [E] Error Code 2: OutOfMemory" in err and "edge: error: door: TensorRT build failed: out of memory" in err


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--batch", "4:1:8"], "1 <= MIN <= OPT <= MAX"),
        (["--precision", "int8"], "int8 needs calibration images"),
        (["--dla", "0", "--precision", "fp32"], "DLA runs fp16 or int8"),
    ],
)
def test_compile_option_errors(
    build: FakeBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    model = detect_model(tmp_path)
    assert main(["compile", "--model", str(model), "--engines", str(tmp_path / "e"), *flags]) == 2
    assert message in capsys.readouterr().err and build.calls == []


def test_list_and_prune(build: FakeBuilder, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    engines = tmp_path / "engines"
    main(["compile", "--model", str(detect_model(tmp_path, name="door")), "--engines", str(engines)])
    engine = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert main(["engines", "list", "--engines", str(engines)]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[1].split()[:4] == ["model", "key", "precision", "batch"]
    assert table[2].split()[:4] == ["door", engine.stem, "fp16", "1:1:1"] and table[2].endswith("ok")

    engine.write_bytes(b"X" + engine.read_bytes()[1:])  # same size, different bytes
    main(["engines", "list", "--verify", "--json", "--engines", str(engines)])
    (row,) = json.loads(capsys.readouterr().out)["entries"]
    assert row["status"] == "corrupt (sha256 mismatch)"

    build.error = BuildError("door: out of memory")
    main(
        [
            "compile",
            "--model",
            str(detect_model(tmp_path, name="door")),
            "--precision",
            "fp32",
            "--engines",
            str(engines),
        ]
    )
    capsys.readouterr()
    main(["engines", "list", "--engines", str(engines)])
    assert "build failed: door: out of memory" in capsys.readouterr().out

    assert main(["engines", "prune", "--dry-run", "--engines", str(engines)]) == 0
    out = capsys.readouterr().out
    assert "would remove" in out and ".failed.json (build-failure record" in out and engine.is_file()
    assert main(["engines", "prune", "--all", "--engines", str(engines)]) == 0
    assert not engine.exists()


def test_prune_without_tensorrt_keeps_other_versions_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_trt() -> None:
        raise BackendUnavailable("TensorRT engines need tensorrt")

    monkeypatch.setattr(commands, "_device", no_trt)
    assert main(["engines", "prune", "--engines", str(tmp_path)]) == 0
    assert "engines built for other TensorRT versions or GPUs are kept" in capsys.readouterr().err


def test_the_commands_module_imports_nothing_heavy() -> None:
    import subprocess
    import sys

    code = (
        "import sys, edge.cli, edge.engines.commands, edge.engines.manager, edge.engines.select, edge.gpu.kernel;"
        "print(sorted(m for m in ('tensorrt', 'pycuda', 'cupy', 'onnxruntime') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
