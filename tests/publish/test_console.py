from __future__ import annotations

import io
import threading

import pytest

from edge.messages import ResultMessage, ResultSource
from edge.publish.console import ConsoleSink, format_result, summarize
from tests.publish.results import detection


def test_detection_line() -> None:
    assert format_result(detection("cam1", "detect", 42, objects=3)) == (
        "cam1 detect #42 local 3 objects: circle 0.90, square 0.85, triangle 0.80 (12 ms)"
    )


@pytest.mark.parametrize(
    ("v1", "summary"),
    [
        ({"predictions": []}, "0 objects"),
        ({"predictions": [{"class": "dog", "confidence": 0.5}]}, "1 object: dog 0.50"),
        (
            {"predictions": [{"class": f"c{i}", "confidence": 0.9} for i in range(7)]},
            "7 objects: c0 0.90, c1 0.90, c2 0.90, c3 0.90, c4 0.90, ... (+2)",
        ),
        ({"predictions": [{"class": "cat", "confidence": 0.97}], "top": "cat", "confidence": 0.97}, "top: cat 0.97"),
        ({"predictions": [], "top": "", "confidence": 0.0}, "top: - 0.00"),
        (
            {"predictions": {"a": {"confidence": 0.9}, "b": {"confidence": 0.2}}, "predicted_classes": ["a"]},
            "classes: a 0.90",
        ),
        ({"predictions": {"a": {"confidence": 0.1}}, "predicted_classes": []}, "no class"),
        ({"image": {"width": 64, "height": 48}, "segmentation_mask": "iVBOR"}, "segmentation mask 64x48"),
        ({"image": {"width": 8, "height": 8}}, "no predictions"),
    ],
)
def test_summaries_for_every_task(v1: dict, summary: str) -> None:
    assert summarize({"image": {"width": 1, "height": 1}, **v1}) == summary


def test_hosted_result_without_latency() -> None:
    msg = ResultMessage("door", "rf/3", 0, 0.0, ResultSource.HOSTED, {"image": {"width": 1, "height": 1}})
    assert format_result(msg) == "door rf/3 #0 hosted no predictions"


def test_lines_from_many_threads_never_interleave() -> None:
    out = io.StringIO()
    sink = ConsoleSink(out)
    threads = [
        threading.Thread(target=lambda s=s: [sink.publish(detection(s, "m", f, objects=40)) for f in range(50)])
        for s in ("a", "b", "c")
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    lines = out.getvalue().splitlines()
    assert len(lines) == 150 and all(line.endswith("(12 ms)") for line in lines)


def test_tracking_events_are_one_line_each() -> None:
    import io
    from types import MappingProxyType

    from edge.publish.console import ConsoleSink
    from edge.tracking.events import Event
    from edge.tracking.output import TrackingOutput

    out = io.StringIO()
    cross = Event("line.cross", 1.0, 7, "person", "local", MappingProxyType({"line": "entrance", "direction": "in"}))
    ConsoleSink(out).publish_tracking(TrackingOutput("door", "det", (cross,), {"lines/entrance/person": {"in": 1}}))
    ConsoleSink(out).publish_tracking(TrackingOutput("door", "det", (), {"zones/z/all": 0}))  # counters: no line
    assert out.getvalue() == "door event line.cross #7 person local line=entrance direction=in\n"
