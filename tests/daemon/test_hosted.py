"""The daemon with a model's ``hosted:`` section, against a real HTTP stand-in of the API."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.messages import ResultSource
from tests.daemon.test_models import CLASSIFY, DETECT, StandIn, start, wait_for
from tests.engines.common import FakeBuilder
from tests.hosted_server import HostedStandIn

KEY_VAR = "EDGE_TEST_ROBOFLOW_KEY"


@pytest.fixture(scope="module")
def api() -> Iterator[HostedStandIn]:
    server = HostedStandIn({"shapes/1": DETECT}, api_key="sk-live-5ecret")
    yield server
    server.close()


def config(clip: Path, api: HostedStandIn) -> str:
    return f"""\
models:
  det:
    path: {DETECT}
    backend: tensorrt
    hosted:
      model_id: shapes/1
      url: {api.url}
      api_key: {{env: {KEY_VAR}}}
      when: [building]
      max_rate: 100
  cls: {{path: {CLASSIFY}}}
streams:
  cam: {{uri: {clip}, models: [det], realtime: true}}
"""


def test_while_the_engine_builds_the_hosted_api_answers_and_the_key_never_shows(
    short_clip: Path,
    tmp_path: Path,
    api: HostedStandIn,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv(KEY_VAR, api.api_key)
    gate = threading.Event()
    with caplog.at_level(logging.DEBUG):
        run = start(config(short_clip, api), StandIn(tmp_path / "engines", FakeBuilder(gate=gate)))
        wait_for(lambda: len(run.sink.frames("cam", "det")) >= 15)
        gate.set()
        summary = run.finish()
    messages = run.sink.messages
    assert sorted(run.sink.frames("cam", "det")) == list(range(60)) and summary.ok
    sources = [m.source for m in messages]
    assert sources[0] is ResultSource.HOSTED and ResultSource.LOCAL in sources  # hosted first, local once built
    assert summary.streams["cam"].hosted == sources.count(ResultSource.HOSTED)
    published = json.dumps([m.v1 for m in messages]) + json.dumps([vars(s) for s in run.sink.stats], default=str)
    assert api.api_key not in published and api.api_key not in caplog.text


def test_an_unreadable_key_turns_the_fallback_off_in_one_line(
    short_clip: Path,
    tmp_path: Path,
    api: HostedStandIn,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.delenv(KEY_VAR, raising=False)
    with caplog.at_level(logging.ERROR):
        run = start(config(short_clip, api), StandIn(tmp_path / "engines", FakeBuilder()))
        summary = run.finish()
    assert sorted(run.sink.frames("cam", "det")) == list(range(60))
    assert all(m.source is ResultSource.LOCAL for m in run.sink.messages) and summary.streams["cam"].hosted == 0
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == [
        f"model det: hosted fallback off: models.det.hosted.api_key: the environment variable {KEY_VAR} is not set"
    ]
