"""latest.jpg's refresh interval and the MJPEG rate drop while the pipeline is saturated, and recover.

The web routes run on a real uvicorn server over a stand-in pipeline: a thread feeds it 30
frames a second, and the test switches what it reports between headroom (the model busy a
tenth of the time, nothing queued) and saturated (busy all the time, frames waiting).
"""

from __future__ import annotations

import http.client
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pytest
import uvicorn
from starlette.applications import Starlette

from edge.messages import ResultMessage, ResultSource, StatsSnapshot, StreamStats
from edge.pipeline.batches import BatchSnapshot
from edge.pipeline.latest import LatestFrames
from edge.sources import Frame
from edge.web.mjpeg import BOUNDARY
from edge.web.priority import PICTURE_NICE
from edge.web.routes import WebParts, web_routes
from tests.serve.helpers import request, wait_for


class StandInPipeline:
    def __init__(self) -> None:
        self.latest = LatestFrames()
        self.saturated = False
        self._lock = threading.Lock()
        self._infer, self._at = 0.0, time.monotonic()
        self._stop = threading.Event()
        self._feeder = threading.Thread(target=self._feed, daemon=True)
        self._feeder.start()

    def _feed(self) -> None:
        image = np.zeros((240, 320, 3), np.uint8)
        seq = 0
        while not self._stop.wait(1 / 30):
            now = time.time()
            image[:, :, 1] = seq % 256  # each frame a different picture
            self.latest.offer(Frame("cam", seq, now, image.copy(), time.perf_counter(), 0.0), ("det",))
            doc = {"image": {"width": 320, "height": 240}, "predictions": []}
            self.latest.result(ResultMessage("cam", "det", seq, now, ResultSource.LOCAL, doc))
            seq += 1

    def snapshot(self) -> StatsSnapshot:
        queued = 2 if self.saturated else 0
        stats = StreamStats(30.0, 30.0 if not self.saturated else 20.0, 0, queued, 0.01, 0.02, "running")
        return StatsSnapshot(time.time(), {"cam": stats}, {"det": "ready"})

    def batch_stats(self) -> dict[str, BatchSnapshot]:
        with self._lock:
            now = time.monotonic()
            self._infer += (now - self._at) * (1.0 if self.saturated else 0.1)
            self._at = now
            return {"det": BatchSnapshot(1, 1, 1, self._infer, (0,) * 12)}

    def set_saturated(self, on: bool) -> None:
        self.batch_stats()  # the time so far counts at the old rate
        self.saturated = on

    def close(self) -> None:
        self._stop.set()
        self._feeder.join(5)


@dataclass
class Web:
    pipeline: StandInPipeline
    port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def status(self) -> dict[str, object]:
        doc: dict[str, object] = request(self.url + "/api/status").json()
        return doc

    def pace(self) -> dict[str, object]:
        pace = self.status()["pace"]
        assert isinstance(pace, dict)
        return pace


@pytest.fixture
def web() -> Iterator[Web]:
    pipeline = StandInPipeline()
    app = Starlette(routes=web_routes(WebParts(frozenset(), pipeline, lambda: None, None, time.time())))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, http="h11", loop="asyncio", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: bool(server.started), 10)
    port = int(server.servers[0].sockets[0].getsockname()[1])
    wait_for(lambda: request(f"http://127.0.0.1:{port}/api/streams/cam/latest.json").status == 200, 10)
    yield Web(pipeline, port)
    server.should_exit = True
    thread.join(5)
    pipeline.close()


def _refresh_until(web: Web, wanted: Callable[[int], bool], timeout: float) -> list[int]:
    """Poll latest.jpg as a page does (every 0.25 s here) until its X-Edge-Refresh is wanted."""
    seen: list[int] = []
    deadline = time.monotonic() + timeout
    while not seen or not wanted(seen[-1]):
        assert time.monotonic() < deadline, f"X-Edge-Refresh never came right: {seen}"
        answer = request(web.url + "/api/streams/cam/latest.jpg?height=120")
        assert answer.status == 200
        seen.append(int(answer.headers["x-edge-refresh"]))
        time.sleep(0.25)
    return seen


def test_the_page_is_told_to_slow_down_while_saturated_and_to_speed_up_after(web: Web) -> None:
    _refresh_until(web, lambda ms: ms == 250, 5)  # headroom: live, 4 pictures a second
    web.pipeline.set_saturated(True)
    _refresh_until(web, lambda ms: ms >= 1000, 8)
    assert web.pace()["level"] == "saturated"
    web.pipeline.set_saturated(False)
    _refresh_until(web, lambda ms: ms == 250, 10)
    assert web.pace()["level"] == "live"


class Viewer:
    """An MJPEG client counting the parts it receives."""

    def __init__(self, web: Web) -> None:
        self.parts = 0
        self._conn = http.client.HTTPConnection("127.0.0.1", web.port, timeout=10)
        self._conn.request("GET", "/api/streams/cam/mjpeg?height=120")
        self._resp = self._conn.getresponse()
        assert self._resp.status == 200
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            while line := self._resp.readline():
                if line.strip() == f"--{BOUNDARY}".encode():
                    self.parts += 1
        except (OSError, ValueError, AttributeError, http.client.HTTPException):  # the test closed it meanwhile
            pass

    def rate(self, seconds: float) -> float:
        start = self.parts
        time.sleep(seconds)
        return (self.parts - start) / seconds

    def close(self) -> None:
        if self._conn.sock is not None:
            self._conn.sock.shutdown(2)  # wakes the reader, which then ends
        self._thread.join(5)
        self._conn.close()


def test_the_mjpeg_rate_drops_while_saturated_and_recovers(web: Web) -> None:
    viewer = Viewer(web)
    try:
        wait_for(lambda: viewer.parts > 0, 5)
        assert viewer.rate(2.0) >= 6  # headroom: up to 10 a second of the feed's 30
        web.pipeline.set_saturated(True)
        wait_for(lambda: web.pace()["level"] == "saturated", 8)
        time.sleep(1.0)  # the encoder's wait at the old rate ends
        assert viewer.rate(3.0) <= 2.7  # 2 a second when saturated
        web.pipeline.set_saturated(False)
        wait_for(lambda: web.pace()["level"] == "live", 10)
        time.sleep(1.0)
        assert viewer.rate(2.0) >= 6
    finally:
        viewer.close()


def test_picture_threads_run_at_the_lowest_normal_priority(web: Web) -> None:
    viewer = Viewer(web)
    try:
        wait_for(lambda: viewer.parts > 0, 5)
        assert request(web.url + "/api/streams/cam/latest.jpg?height=100").status == 200
        names = {t.name: t.native_id for t in threading.enumerate()}
        encoders = [tid for name, tid in names.items() if name.startswith(("edge-mjpeg-cam", "edge-picture"))]
        assert any(n.startswith("edge-mjpeg-cam") for n in names) and any(n.startswith("edge-picture") for n in names)
        assert all(os.getpriority(os.PRIO_PROCESS, tid) == PICTURE_NICE for tid in encoders if tid is not None)
        assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) < PICTURE_NICE  # the test's own is not
    finally:
        viewer.close()
