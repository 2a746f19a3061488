from __future__ import annotations

from pathlib import Path

import pytest

from edge.cli import main
from tests.helpers import FIXTURE_MODELS

ROOT = Path(__file__).resolve().parents[2]


def test_validate_finds_the_examples_only_problem_its_missing_clip(capsys: pytest.CaptureFixture[str]) -> None:
    example = ROOT / "examples" / "edge.yaml"
    assert main(["validate", str(example)]) == 1  # the clip is there once `edge demo` has run
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"edge: error: {example}:27: streams.recorded.uri: no such file: ")


def test_validate_prints_one_line_per_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"nope")
    cfg = tmp_path / "edge.yaml"
    cfg.write_text(
        f"models:\n  a: {{path: {FIXTURE_MODELS / 'shapes-detect.onnx'}, confidnce: 0.5}}\n"
        f"  b: {{path: {broken}}}\n"
        "streams:\n  s: {uri: 'ftp://x/y', models: [a]}\n"
    )
    assert main(["validate", str(cfg)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"edge: error: {cfg}:2: models.a.confidnce: unknown key; did you mean 'confidence'?",
        f"edge: error: {cfg}:5: streams.s.uri: 'ftp://x/y': unsupported scheme 'ftp'; write a file path, file://, "
        "rtsp://, v4l2:///dev/videoN, a device index, csi://N, gst://... ! appsink, http(s)://",
    ]
    cfg.write_text(cfg.read_text().replace("confidnce", "confidence").replace("ftp://x/y", "clip.mp4"))
    assert main(["validate", str(cfg)]) == 1  # the missing video is an error too
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"edge: error: {cfg}:5: streams.s.uri: no such file: {tmp_path / 'clip.mp4'}; fix the path or create the file"
    ]
    (tmp_path / "clip.mp4").write_bytes(b"")
    assert main(["validate", str(cfg)]) == 1  # the shape and files are right now; the broken model is found next
    err = capsys.readouterr().err.splitlines()
    assert err[0].startswith("edge: error: models.b.path: ") and len(err) == 1


def test_run_rejects_a_bad_config_with_status_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "edge.yaml"
    cfg.write_text("streams: {}\n")
    assert main(["run", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert "models: required" in err and "streams: required" in err
    assert main(["run", "--config", str(tmp_path / "none.yaml")]) == 2
    assert "cannot read the config: No such file or directory" in capsys.readouterr().err


def test_validate_warns_when_a_hosted_key_cannot_be_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("EDGE_TEST_NO_SUCH_KEY", raising=False)
    cfg = tmp_path / "edge.yaml"
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"")
    cfg.write_text(
        f"models:\n  a:\n    path: {FIXTURE_MODELS / 'shapes-detect.onnx'}\n"
        "    hosted: {model_id: shapes/1, api_key: {env: EDGE_TEST_NO_SUCH_KEY}}\n"
        f"streams:\n  s: {{uri: {clip}, models: [a]}}\n"
    )
    assert main(["validate", str(cfg)]) == 0
    assert capsys.readouterr().err.splitlines() == [
        "edge: warning: models.a.hosted.api_key: the environment variable EDGE_TEST_NO_SUCH_KEY is not set "
        "(the model runs without its hosted fallback until it is)"
    ]
