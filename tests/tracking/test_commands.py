"""`edge tracking reset`: zeroes line counts in the state files, refuses while a daemon runs."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

import pytest

from edge.cli import main
from edge.tracking.hub import TrackingHub, state_path
from edge.tracking.settings import TrackingSettings
from edge.tracking.state import TrackingState, load
from tests.helpers import FIXTURE_MODELS

CONFIG = """\
models:
  det: {{path: {model}}}
streams:
  door:
    uri: {clip}
    models: [det]
    tracking: {{model: det}}
    lines:
      a: {{points: [[0, 0.5], [1, 0.5]]}}
      b: {{points: [[0.5, 0], [0.5, 1]]}}
state_dir: {state}
"""
COUNTS = {"person": {"in": 3, "out": 1}}


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "clip.mp4").write_bytes(b"")
    path = tmp_path / "edge.yaml"
    model = FIXTURE_MODELS / "shapes-detect.onnx"
    path.write_text(CONFIG.format(model=model, clip=tmp_path / "clip.mp4", state=tmp_path / "state"))
    TrackingState(next_id=9, lines={"a": COUNTS, "b": COUNTS}).save(state_path(tmp_path / "state/tracking", "door"))
    return path


@pytest.mark.parametrize(
    ("extra", "left"),
    [([], {}), (["--line", "a"], {"b": COUNTS}), (["--stream", "door", "--line", "b"], {"a": COUNTS})],
)
def test_reset_zeroes_the_chosen_lines_and_keeps_ids(config: Path, extra: list[str], left: dict[str, object]) -> None:
    assert main(["tracking", "reset", "--config", str(config), *extra]) == 0
    state = load(state_path(config.parent / "state/tracking", "door"))
    assert state is not None and state.lines == left and state.next_id == 9


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (["--stream", "hall"], "no tracked stream 'hall'"),
        (["--stream", "door", "--line", "c"], "no counts for line 'c'"),
    ],
)
def test_reset_names_what_is_wrong(
    config: Path, capsys: pytest.CaptureFixture[str], extra: list[str], says: str
) -> None:
    assert main(["tracking", "reset", "--config", str(config), *extra]) == 1
    assert says in capsys.readouterr().err


def test_reset_refuses_while_a_daemon_holds_the_folder(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hub = TrackingHub({"door": TrackingSettings("det", lines=MappingProxyType({}))}, config.parent / "state/tracking")
    hub.start()
    try:
        assert main(["tracking", "reset", "--config", str(config)]) == 1
    finally:
        hub.close()
    assert "stop it first" in capsys.readouterr().err
    assert main(["tracking", "reset", "--config", str(config)]) == 0  # released at close
