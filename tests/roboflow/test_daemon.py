"""The daemon with models named by ``model_id``: pulled at start through the real pipeline."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

import pytest

from edge.messages import ResultSource
from edge.roboflow.cache import PackageCache
from edge.roboflow.client import RoboflowApi
from edge.roboflow.pull import DAY, pull
from tests.daemon.test_models import StandIn, start, wait_for
from tests.engines.common import FakeBuilder
from tests.hosted_server import HostedStandIn
from tests.roboflow.conftest import DETECT
from tests.roboflow.test_pull import closed_port_url
from tests.roboflow_server import WeightsStandIn

KEY_VAR = "EDGE_TEST_RF_PULL_KEY"


def config(clip: Path, cache: Path, api_url: str, models: str, streams: str) -> str:
    return (
        f"roboflow: {{api_key: {{env: {KEY_VAR}}}, api_url: '{api_url}', cache_dir: '{cache}'}}\n"
        f"models:\n{models}streams:\n{streams.replace('CLIP', str(clip))}"
    )


def test_a_model_id_is_pulled_at_start_and_runs_while_a_model_that_cannot_be_had_fails_alone(
    short_clip: Path,
    tmp_path: Path,
    weights_api: WeightsStandIn,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv(KEY_VAR, weights_api.api_key)
    text = config(
        short_clip,
        tmp_path / "models",
        weights_api.url,
        "  det: {model_id: shapes-det/3, hosted: {url: 'http://127.0.0.1:9', when: [error]}}\n"
        "  gone: {model_id: shapes-gone/4}\n",
        "  cam: {uri: CLIP, models: [det], realtime: false}\n  door: {uri: CLIP, models: [gone], realtime: false}\n",
    )
    with caplog.at_level(logging.DEBUG):
        run = start(text, None)
        summary = run.finish()
    assert run.sink.frames("cam", "det") == list(range(60))
    assert sum(len(m.v1["predictions"]) for m in run.sink.messages) > 60  # real detections from the pulled model
    assert summary.models["gone"].startswith("failed")
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR and "gone" in r.getMessage()]
    assert errors[0] == (
        "model gone: cannot pull shapes-gone/4: no such model (HTTP 404); check the project id and version "
        "(the Roboflow app's Deploy tab shows both) and that the version has a trained model"
    )
    assert not [r for r in caplog.records if r.levelno == logging.WARNING and "differ" in r.getMessage()]
    assert (tmp_path / "models" / "shapes-det" / "3" / "weights.onnx").is_file()
    published = json.dumps([m.v1 for m in run.sink.messages]) + json.dumps(
        [vars(s) for s in run.sink.stats], default=str
    )
    assert weights_api.api_key not in published and weights_api.api_key not in caplog.text


@pytest.mark.parametrize(
    ("age", "key", "warning"),
    [
        (0.0, False, None),  # checked today: no request, so no key needed
        (2 * DAY, True, "model det: shapes-det/3: the Roboflow API is unreachable ("),
        (
            2 * DAY,
            False,
            f"model det: roboflow.api_key: the environment variable {KEY_VAR} is not set; using the cached",
        ),
    ],
    ids=["fresh", "stale-offline", "stale-no-key"],
)
def test_without_network_the_daemon_starts_from_the_cache(
    short_clip: Path,
    tmp_path: Path,
    weights_api: WeightsStandIn,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    age: float,
    key: bool,
    warning: str | None,
) -> None:
    cache = PackageCache(tmp_path / "models")
    pull(
        "shapes-det/3", cache, lambda: RoboflowApi(weights_api.url, weights_api.api_key), now=lambda: time.time() - age
    )
    if key:
        monkeypatch.setenv(KEY_VAR, weights_api.api_key)
    else:
        monkeypatch.delenv(KEY_VAR, raising=False)
    text = config(
        short_clip,
        tmp_path / "models",
        closed_port_url(),
        "  det: {model_id: shapes-det/3}\n",
        "  cam: {uri: CLIP, models: [det], realtime: false}\n",
    )
    with caplog.at_level(logging.WARNING):
        run = start(text, None)
        summary = run.finish()
    assert summary.ok and summary.models["det"] == "ready" and run.sink.frames("cam", "det") == list(range(60))
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == (warning is not None) and all(w.startswith(warning or "") for w in warnings)


@pytest.mark.parametrize(
    ("hosted_id", "warned"),
    [("shapes-renamed/1", True), ("shapes-det/3", False), (None, False)],
    ids=["other-classes", "same-classes", "defaulted"],
)
def test_class_names_that_differ_from_the_hosted_model_are_one_warning_line(
    short_clip: Path,
    tmp_path: Path,
    weights_api: WeightsStandIn,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    hosted_id: str | None,
    warned: bool,
) -> None:
    monkeypatch.setenv(KEY_VAR, weights_api.api_key)
    hosted = f"{{model_id: {hosted_id}, url: 'http://127.0.0.1:9', when: [error]}}" if hosted_id else "{when: [error]}"
    text = config(
        short_clip,
        tmp_path / "models",
        weights_api.url,
        f"  det: {{model_id: shapes-det/3, hosted: {hosted}}}\n",
        "  cam: {uri: CLIP, models: [det], realtime: false}\n",
    )
    with caplog.at_level(logging.INFO):
        start(text, None).finish()
    lines = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "differ" in r.getMessage()]
    expected = [
        "model det: local classes ['circle', 'square', 'triangle'] differ from hosted model shapes-renamed/1's "
        "['disc', 'box', 'wedge']; hosted results would name classes differently, "
        "check the model's path/model_id and hosted.model_id"
    ]
    assert lines == (expected if warned else [])
    # The hosted model's class names come from its metadata: nothing but class_names.txt is fetched.
    fetched = {r.path.rsplit("/", 1)[-1] for r in weights_api.seen if "shapes-renamed" in r.path}
    assert fetched <= {"class_names.txt"}


def test_the_hosted_fallback_of_a_model_id_uses_the_same_model_and_the_roboflow_key_which_never_shows(
    short_clip: Path,
    tmp_path: Path,
    weights_api: WeightsStandIn,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    hosted_api = HostedStandIn({"shapes-det/3": DETECT}, api_key=weights_api.api_key)
    monkeypatch.setenv(KEY_VAR, weights_api.api_key)
    text = config(
        short_clip,
        tmp_path / "models",
        weights_api.url,
        f"  det: {{model_id: shapes-det/3, backend: tensorrt, hosted: {{url: '{hosted_api.url}', when: [building], "
        "max_rate: 100}}\n",
        "  cam: {uri: CLIP, models: [det], realtime: true}\n",
    )
    gate = threading.Event()
    try:
        with caplog.at_level(logging.DEBUG):
            run = start(text, StandIn(tmp_path / "engines", FakeBuilder(gate=gate)))
            wait_for(lambda: len(run.sink.frames("cam", "det")) >= 10)
            gate.set()
            summary = run.finish()
    finally:
        hosted_api.close()
    sources = [m.source for m in run.sink.messages]
    assert sources[0] is ResultSource.HOSTED and summary.streams["cam"].hosted == sources.count(ResultSource.HOSTED)
    assert {s.path for s in hosted_api.seen} == {"/shapes-det/3"}  # the model's own id, with the roboflow: key
    published = json.dumps([m.v1 for m in run.sink.messages]) + json.dumps(
        [vars(s) for s in run.sink.stats], default=str
    )
    cached = "".join(p.read_text(errors="replace") for p in (tmp_path / "models").rglob("*") if p.is_file())
    for text_seen in (published, caplog.text, cached):
        assert weights_api.api_key not in text_seen
