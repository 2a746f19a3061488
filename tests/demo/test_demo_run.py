from __future__ import annotations

import threading
from pathlib import Path

import pytest

from edge.config import load_config
from edge.demo.run import DemoOptions, run_demo
from tests.mqtt_broker import mosquitto_binary


@pytest.mark.parametrize("broker", [True, False], ids=["mqtt", "in-process"])
def test_demo_runs_shows_results_and_writes_snapshots(
    tmp_path: Path, broker: bool, capsys: pytest.CaptureFixture[str], fixture_models: dict[str, Path]
) -> None:
    if broker:
        mosquitto_binary()  # fails with the install hint when mosquitto is missing
    opts = DemoOptions(duration=4.0, out=tmp_path / "out", width=320, height=240, frames=60, broker=broker, refresh=1.0)
    assert run_demo(opts, threading.Event()) == 0
    out = capsys.readouterr().out
    assert "results arrived over MQTT" in out if broker else "results arrived in-process" in out
    for topic in (
        "shapes/detect",
        "shapes/segment",
        "shapes/semantic",
        "shapes/multilabel",
        "arrows/pose",
        "single/classify",
    ):
        assert f"edge/demo/{topic}/predictions: " in out
        assert " 0 out of order" in out.split(f"edge/demo/{topic}/predictions: ")[1].splitlines()[0]
    snaps = sorted((tmp_path / "out" / "snapshots").glob("*.jpg"))
    models = {p.name.split("-")[1] for p in snaps}
    assert models == {"detect", "segment", "semantic", "multilabel", "pose", "classify"}
    if broker:
        assert "edge/demo/status: online -> offline" in out
    # The shapes stream is tracked: its line and zone counts in the console, drawn on its snapshots.
    assert "shapes tracking: middle: in " in out and "| centre: " in out
    assert "events: none yet" not in out.split("demo finished")[1]
    cfg = load_config(tmp_path / "out" / "edge.yaml")  # the config it wrote is one `edge run` accepts
    assert {p.name for p in cfg.streams} == {"shapes", "arrows", "single"}
