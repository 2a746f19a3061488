"""Many pollers of one picture variant cost one encode; another variant or frame is its own."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pytest

from edge.messages import ResultMessage, ResultSource
from edge.pipeline.latest import LatestFrame
from edge.web.jpegcache import JpegCache
from edge.web.params import PictureParams
from edge.web.picture import render_jpeg


def _held(frame: int = 3, models: tuple[str, ...] = ("m",)) -> LatestFrame:
    doc = {"image": {"width": 64, "height": 48}, "predictions": []}
    results = {m: ResultMessage("cam", m, frame, 1.0, ResultSource.LOCAL, doc) for m in models}
    return LatestFrame("cam", frame, 1.0, np.zeros((48, 64, 3), np.uint8), results, ("m", "n"))


class SlowRender:
    """The real renderer, slowed so that concurrent requests overlap, counting its calls."""

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def __call__(self, held: LatestFrame, params: PictureParams) -> bytes:
        with self._lock:
            self.calls += 1
        time.sleep(0.05)
        return render_jpeg(held, params)


def test_concurrent_pollers_of_one_variant_share_one_encode() -> None:
    render = SlowRender()
    cache = JpegCache(render)
    with ThreadPoolExecutor(8) as pool:
        pictures = list(pool.map(lambda _: cache.get(_held(), PictureParams(height=24)), range(16)))
    assert render.calls == 1 and cache.encoded == 1 and len(set(pictures)) == 1


@pytest.mark.parametrize(
    ("other", "params"),
    [
        (_held(frame=4), PictureParams()),  # another frame
        (_held(), PictureParams(quality=50)),  # another variant
        (_held(models=("m", "n")), PictureParams()),  # the same frame, once another model answered
        (replace(_held(), timestamp=2.0), PictureParams()),  # a stream added again restarts its numbers
    ],
)
def test_another_frame_variant_or_answer_is_encoded_again(other: LatestFrame, params: PictureParams) -> None:
    render = SlowRender()
    cache = JpegCache(render)
    cache.get(_held(), PictureParams())
    cache.get(other, params)
    assert render.calls == 2


def test_the_frame_parameter_is_not_part_of_the_variant() -> None:
    render = SlowRender()
    cache = JpegCache(render)
    cache.get(_held(), PictureParams())
    cache.get(_held(), PictureParams(frame=3))
    assert render.calls == 1


def test_a_failed_encode_is_not_cached_and_waiters_retry() -> None:
    calls: list[int] = []

    def flaky(held: LatestFrame, params: PictureParams) -> bytes:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("encoder failed")
        return b"jpeg"

    cache = JpegCache(flaky)
    with pytest.raises(RuntimeError):
        cache.get(_held(), PictureParams())
    assert cache.get(_held(), PictureParams()) == b"jpeg" and len(calls) == 2


def test_the_cache_is_bounded() -> None:
    cache = JpegCache(lambda held, params: bytes(held.frame), size=4)
    for frame in range(10):
        cache.get(_held(frame=frame), PictureParams())
    assert len(cache._done) == 4


def test_pollers_of_the_newest_picture_get_the_last_one_for_a_moment() -> None:
    render = SlowRender()
    cache = JpegCache(render, min_period=0.3)
    assert cache.recent("cam", PictureParams()) is None  # nothing encoded yet
    first = cache.get(_held(frame=3), PictureParams())
    recent = cache.recent("cam", PictureParams(frame=None))
    assert recent is not None and recent[0].frame == 3 and recent[1] == first
    assert cache.recent("cam", PictureParams(height=24)) is None  # another variant has its own
    cache.get(_held(frame=2), PictureParams())  # an older frame asked by number is not "the newest"
    again = cache.recent("cam", PictureParams())
    assert again is not None and again[0].frame == 3
    time.sleep(0.35)
    assert cache.recent("cam", PictureParams()) is None  # too old: the caller encodes the newest frame
