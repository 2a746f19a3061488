"""`edge validate` (and a reload, which runs the same checks) finds missing and unreadable files."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from edge.cli import main
from edge.config import ConfigErrors, load_config
from tests.helpers import FIXTURE_MODELS

DETECT = FIXTURE_MODELS / "shapes-detect.onnx"
NOBODY = 65534


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    """A folder the unprivileged user can reach (pytest's own are private to root)."""
    if os.geteuid() != 0:
        yield tmp_path
        return
    path = Path(tempfile.mkdtemp(prefix="edge-validate-"))
    try:
        yield path
    finally:
        for p in (path, *path.rglob("*")):
            p.chmod(0o755)
        shutil.rmtree(path)


@contextmanager
def as_unprivileged() -> Iterator[None]:
    """Root reads every file: check as the nobody user instead, as a service user would run."""
    if os.geteuid() != 0:
        yield
        return
    os.setegid(NOBODY)
    os.seteuid(NOBODY)
    try:
        yield
    finally:
        os.seteuid(0)
        os.setegid(0)


def setup_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A world-readable folder with a model, a package directory and a clip."""
    tmp_path.chmod(0o755)
    model = tmp_path / "det.onnx"
    shutil.copy(DETECT, model)
    package = tmp_path / "package"
    package.mkdir()
    shutil.copy(DETECT, package / "weights.onnx")
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\0" * 16)
    for p in (model, package / "weights.onnx", clip):
        p.chmod(0o644)
    package.chmod(0o755)
    return model, package, clip


Case = Callable[[Path, Path, Path], tuple[str, str, str]]  # -> (model, uri, expected error after file:line)


@pytest.mark.parametrize(
    ("break_it", "line", "expected"),
    [
        (lambda m, p, c: m.unlink(), 2, "models.det.path: no such file or directory: {m}"),
        (
            lambda m, p, c: m.chmod(0),
            2,
            "models.det.path: cannot read {m}: Permission denied; let the daemon's user read it",
        ),
        (lambda m, p, c: c.unlink(), 5, "streams.cam.uri: no such file: {c}; fix the path or create the file"),
        (
            lambda m, p, c: c.chmod(0),
            5,
            "streams.cam.uri: cannot read {c}: Permission denied; let the daemon's user read it",
        ),
        (lambda m, p, c: (c.unlink(), c.mkdir()), 5, "streams.cam.uri: {c} is a directory; name a video file"),
    ],
    ids=["model-missing", "model-unreadable", "clip-missing", "clip-unreadable", "clip-is-a-directory"],
)
def test_validate_names_the_file_and_its_line(
    folder: Path,
    capsys: pytest.CaptureFixture[str],
    break_it: Callable[[Path, Path, Path], object],
    line: int,
    expected: str,
) -> None:
    model, package, clip = setup_files(folder)
    cfg = folder / "edge.yaml"
    cfg.write_text(f"models:\n  det: {{path: {model}}}\nstreams:\n  cam:\n    uri: {clip}\n    models: [det]\n")
    cfg.chmod(0o644)
    assert main(["validate", str(cfg)]) == 0  # first as we are: it imports what validate needs
    with as_unprivileged():
        assert main(["validate", str(cfg)]) == 0
    capsys.readouterr()
    break_it(model, package, clip)
    with as_unprivileged():
        assert main(["validate", str(cfg)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [f"edge: error: {cfg}:{line}: " + expected.format(m=model, c=clip)]


def test_an_unreadable_package_directory_is_an_error(folder: Path) -> None:
    _, package, clip = setup_files(folder)
    cfg = folder / "edge.yaml"
    cfg.write_text(f"models:\n  det: {{path: {package}}}\nstreams:\n  cam: {{uri: {clip}, models: [det]}}\n")
    cfg.chmod(0o644)
    package.chmod(0)
    with as_unprivileged(), pytest.raises(ConfigErrors) as err:
        load_config(cfg, check_files=True)
    assert err.value.lines == [
        f"{cfg}:2: models.det.path: cannot read {package}: Permission denied; let the daemon's user read it"
    ]


def test_a_missing_clip_does_not_stop_a_start(tmp_path: Path) -> None:
    """At start the daemon runs the other streams while a file is missing; only validate and reload refuse it."""
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(
        f"models:\n  det: {{path: {DETECT}}}\nstreams:\n  cam: {{uri: {tmp_path / 'later.mp4'}, models: [det]}}\n"
    )
    assert load_config(cfg).streams[0].name == "cam"
    with pytest.raises(ConfigErrors):
        load_config(cfg, check_files=True)
