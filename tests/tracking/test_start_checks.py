"""At daemon start (a pulled model is read only then): a stream whose tracking the model cannot
do runs untracked, with one error line naming the file, the line and the key."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from edge.config import load_config
from edge.daemon.checks import untrackable_dropped
from edge.models import load_spec
from tests.helpers import FIXTURE_MODELS

CONFIG = """\
models:
  det: {{path: {model}}}
streams:
  door:
    uri: {clip}
    models: [det]
    tracking: {{model: det}}
    zones:
      z: {{polygon: [[0, 0], [1, 0], [1, 1]], classes: [{cls}]}}
  hall:
    uri: {clip}
    models: [det]
    tracking: {{model: det}}
"""


@pytest.mark.parametrize(("cls", "tracked"), [("circle", {"door", "hall"}), ("hexagon", {"hall"})])
def test_untrackable_streams_run_untracked(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, cls: str, tracked: set[str]
) -> None:
    path = tmp_path / "edge.yaml"
    model = FIXTURE_MODELS / "shapes-detect.onnx"
    path.write_text(CONFIG.format(model=model, clip=tmp_path / "clip.mp4", cls=cls))
    config = load_config(path)
    with caplog.at_level(logging.ERROR, logger="edge.daemon"):
        plans = untrackable_dropped(config, {"det": load_spec(model)})
    assert {p.name for p in plans if p.tracking is not None} == tracked
    assert [p.name for p in plans] == ["door", "hall"]  # every stream still runs
    errors = [r.getMessage() for r in caplog.records]
    if cls == "hexagon":
        assert errors == [
            f"{path}:9: streams.door.zones.z.classes: model det has no class 'hexagon' (it has: circle, square, "
            "triangle); the stream runs without tracking"
        ]
    else:
        assert errors == []
