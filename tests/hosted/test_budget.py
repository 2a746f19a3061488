"""``daily_limit``: the count file, and a limit that holds across a daemon restart."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from edge.config import parse_config
from edge.daemon.runner import Daemon, RunSummary
from edge.hosted.budget import DailyBudget, budget_path
from edge.messages import ModelNotice
from tests.daemon.test_models import StandIn
from tests.engines.common import FakeBuilder
from tests.helpers import FIXTURE_MODELS
from tests.hosted_server import HostedStandIn
from tests.pipeline.helpers import MemorySink

DETECT = FIXTURE_MODELS / "shapes-detect.onnx"
KEY_VAR = "EDGE_TEST_ROBOFLOW_KEY"
NOON = datetime(2026, 11, 29, 12, tzinfo=timezone.utc).timestamp()


class Clock:
    def __init__(self, t: float) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_the_count_survives_a_restart_and_starts_again_each_utc_day(tmp_path: Path) -> None:
    path = budget_path(tmp_path, "cam/det")
    assert path.parent == tmp_path / "hosted" and path.name == "cam%2Fdet.json"  # any model name is one file
    clock = Clock(NOON)
    first = DailyBudget(3, path, clock)
    assert [first.take() for _ in range(2)] == [True, True] and first.left() == 1
    again = DailyBudget(3, path, clock)  # a restart reads the count back
    assert again.left() == 1 and again.take() and not again.take() and again.left() == 0
    assert json.loads(path.read_text()) == {"day": "2026-11-29", "sent": 3, "limit": 3}
    assert not list(path.parent.glob("*.tmp"))  # written by rename: no half-written file left
    clock.t = NOON + 12 * 3600  # midnight UTC
    assert again.left() == 3 and DailyBudget(3, path, clock).left() == 3


def test_an_unreadable_count_is_a_spent_day_with_one_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = budget_path(tmp_path, "det")
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    with caplog.at_level(logging.ERROR):
        budget = DailyBudget(5, path, Clock(NOON))
    assert budget.left() == 0 and not budget.take()
    assert len(caplog.records) == 1 and "delete the file to start the count again" in caplog.records[0].getMessage()


class NoticeSink(MemorySink):
    def __init__(self) -> None:
        super().__init__()
        self.notices: list[ModelNotice] = []

    def publish_notice(self, notice: ModelNotice) -> None:
        self.notices.append(notice)


@pytest.fixture(scope="module")
def api() -> Iterator[HostedStandIn]:
    server = HostedStandIn({"shapes/1": DETECT}, api_key="sk-live-5ecret-budget")
    yield server
    server.close()


def config(clip: Path, api: HostedStandIn, state: Path) -> str:
    return f"""\
state_dir: {state}
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
      daily_limit: 4
streams:
  cam: {{uri: {clip}, models: [det], live: true}}
"""


def run_daemon(text: str, engines: Path, until: float) -> tuple[NoticeSink, RunSummary]:
    """The daemon with det's engine building throughout, for ``until`` seconds."""
    sink = NoticeSink()
    gate = threading.Event()
    daemon = Daemon(
        parse_config(text),
        extra_sinks=[sink],
        stats_interval=0.2,
        engine_support=StandIn(engines, FakeBuilder(gate=gate)),
    )
    stop = threading.Event()
    summary: list[RunSummary] = []
    thread = threading.Thread(target=lambda: summary.append(daemon.run(stop, 30.0)))
    thread.start()
    time.sleep(until)
    gate.set()  # let the builder thread finish so the daemon can close
    stop.set()
    thread.join(30)
    assert summary, "the daemon did not finish"
    return sink, summary[0]


def test_daily_limit_holds_across_a_daemon_restart_and_the_key_never_shows(
    short_clip: Path,
    tmp_path: Path,
    api: HostedStandIn,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv(KEY_VAR, api.api_key)
    text = config(short_clip, api, tmp_path / "state")
    before = api.requests
    with caplog.at_level(logging.DEBUG):
        first, _ = run_daemon(text, tmp_path / "engines", 3.0)
        assert api.requests - before == 4  # the limit, though 30 frames waited for the engine
        # A fresh engine cache: the engine builds again, so frames are offered to the API again.
        second, _ = run_daemon(text, tmp_path / "engines-2", 2.0)
    assert api.requests - before == 4  # none on the same UTC day after the restart
    reached = [r for r in caplog.records if "daily_limit of 4 requests reached" in r.getMessage()]
    assert len(reached) == 2  # one line in each run, however many frames the limit turned away
    assert "model det: hosted on, breaker closed, 4 sent, 4 answered, none failed, 0 left today" in caplog.text
    last = second.stats[-1].hosted["det"]
    assert (last.sent, last.left_today, last.state) == (0, 0, "on")
    assert getattr(second.stats[-1].streams["cam"], "frames_read", 0) >= 5  # frames came and were turned away
    assert first.stats[-1].hosted["det"].answered == 4
    hosted = [m for m in first.messages if m.source.value == "hosted"]
    assert len(hosted) == 4
    # Logs, stats, results, notices and the count file: nothing holds the key.
    texts = [caplog.text, (tmp_path / "state" / "hosted" / "det.json").read_text()]
    for sink in (first, second):
        texts += [json.dumps(m.to_payload()) for m in sink.messages]
        texts += [json.dumps(s.to_payload(), default=str) for s in sink.stats]
        texts += [json.dumps(n.to_payload()) for n in sink.notices]
    assert all(api.api_key not in t for t in texts)
    assert any('"hosted": {"det": {"sent": 4' in t for t in texts)  # the scan did see the hosted stats
