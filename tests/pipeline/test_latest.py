"""The newest complete frame per stream, held by reference, a few frames deep."""

from __future__ import annotations

import numpy as np

from edge.messages import ResultMessage, ResultSource
from edge.pipeline.latest import LatestFrames
from edge.sources import Frame
from edge.tasks.points import Points


def _frame(seq: int) -> Frame:
    return Frame("cam", seq, 1000.0 + seq, np.zeros((4, 6, 3), np.uint8), 0.0, 0.0)


def _result(seq: int, model: str) -> ResultMessage:
    return ResultMessage("cam", model, seq, 1000.0 + seq, ResultSource.LOCAL, {"image": {"width": 6, "height": 4}})


def test_a_frame_counts_once_every_model_answered() -> None:
    latest = LatestFrames()
    latest.offer(_frame(0), ("a", "b"))
    latest.result(_result(0, "a"))
    assert latest.get("cam") is None  # b has not answered
    latest.result(_result(0, "b"))
    held = latest.get("cam")
    assert held is not None and held.frame == 0 and set(held.documents()) == {"a", "b"}


def test_the_image_is_held_by_reference_not_copied() -> None:
    latest, frame = LatestFrames(), _frame(3)
    latest.offer(frame, ("a",))
    latest.result(_result(3, "a"))
    held = latest.get("cam")
    assert held is not None and held.image is frame.image


def test_only_the_last_frames_are_kept_and_older_ones_can_be_asked_for() -> None:
    latest = LatestFrames(keep=3, keep_answered=2)
    for seq in range(5):
        latest.offer(_frame(seq), ("a",))
        latest.result(_result(seq, "a"))
    newest = latest.get("cam")
    assert newest is not None and newest.frame == 4
    older = latest.get("cam", 3)
    assert older is not None and older.frame == 3
    assert latest.get("cam", 2) is None  # answered frames leave the ring: the last two stay
    assert latest.get("other") is None


def test_a_late_result_of_an_older_frame_does_not_go_back_in_time() -> None:
    latest = LatestFrames()
    for seq in (0, 1):
        latest.offer(_frame(seq), ("a",))
    latest.result(_result(1, "a"))
    latest.result(_result(0, "a"))
    held = latest.get("cam")
    assert held is not None and held.frame == 1


def test_a_forgotten_stream_holds_nothing() -> None:
    latest = LatestFrames()
    latest.offer(_frame(0), ("a",))
    latest.result(_result(0, "a"))
    latest.forget("cam")
    assert latest.get("cam") is None and latest.get("cam", 0) is None


def test_the_last_answered_frames_outlive_newer_unanswered_ones() -> None:
    """Inference lags: the newest answered frame stays askable while new frames keep coming."""
    latest = LatestFrames(keep=3, keep_answered=2)
    for seq in range(2):
        latest.offer(_frame(seq), ("a",))
        latest.result(_result(seq, "a"))
    for seq in range(2, 10):  # offered, not answered yet: they push 0 and 1 out of the ring
        latest.offer(_frame(seq), ("a",))
    newest = latest.get("cam")
    assert newest is not None and newest.frame == 1
    older = latest.get("cam", 0)
    assert older is not None and older.frame == 0
    latest.offer(_frame(10), ("a",))
    latest.result(_result(8, "a"))
    latest.result(_result(9, "a"))
    assert latest.get("cam", 0) is None and latest.get("cam", 1) is None  # the last two answered are kept
    newest = latest.get("cam")
    assert newest is not None and newest.frame == 9 and latest.get("cam", 8) is not None


def test_an_answered_frame_leaves_the_waiting_ring_with_every_older_one() -> None:
    """Once frame N is answered, the ring of frames awaiting results holds only newer ones:
    an older frame answered after N would never be shown, and holding it pins its pixels."""
    latest = LatestFrames(keep=8, keep_answered=1)
    for seq in range(5):
        latest.offer(_frame(seq), ("a",))
    latest.result(_result(3, "a"))
    assert [latest.get("cam", s) is not None for s in range(5)] == [False, False, False, True, True]
    latest.result(_result(2, "a"))  # late: its frame is gone, nothing changes
    newest = latest.get("cam")
    assert newest is not None and newest.frame == 3 and latest.documents("cam", 2) is None
    latest.result(_result(4, "a"))
    assert latest.get("cam", 3) is None  # one answered frame kept: 4
    newest = latest.get("cam")
    assert newest is not None and newest.frame == 4


def test_the_results_of_an_answered_frame_outlive_its_image() -> None:
    """latest.json?frame=N answers for longer than the picture's image is held."""
    latest = LatestFrames(keep=2, keep_answered=1, keep_documents=5)
    for seq in range(8):
        latest.offer(_frame(seq), ("a",))
        latest.result(_result(seq, "a"))
    assert latest.get("cam", 4) is None  # its image is gone
    docs = latest.documents("cam", 4)
    assert docs is not None and docs.frame == 4 and docs.timestamp == 1004.0 and set(docs.documents()) == {"a"}
    assert latest.documents("cam", 2) is None  # older than the 5 kept
    newest = latest.documents("cam")
    assert newest is not None and newest.frame == 7
    latest.forget("cam")
    assert latest.documents("cam", 6) is None


def _outlined(seq: int, instances: int, points: int, as_array: bool = False) -> ResultMessage:
    """A result of ``instances`` predictions with ``points`` outline points each: dicts, as a
    document read back has them, or :class:`Points`, as edge's own results carry them."""
    outline: object = Points(np.zeros((points, 2))) if as_array else [{"x": 0.0, "y": 0.0}] * points
    pred = {"x": 1.0, "points": outline}
    v1 = {"image": {"width": 6, "height": 4}, "predictions": [pred] * instances}
    return ResultMessage("cam", "a", seq, 1000.0 + seq, ResultSource.LOCAL, v1)


def test_document_weight_counts_predictions_and_points() -> None:
    from edge.pipeline.latest import document_weight

    cases = [(_result(0, "a"), 0), (_outlined(0, 3, 0), 3), (_outlined(0, 3, 10), 33), (_outlined(0, 3, 10, True), 33)]
    for message, weight in cases:
        assert document_weight({"a": message}) == weight


def test_large_documents_are_held_fewer_frames_deep() -> None:
    """A budget of predictions and points bounds the documents ring, never below keep_answered."""
    cases = [  # (points a prediction, frames whose documents stay)
        (0, 6),  # boxes only: the count bounds it
        (9, 4),  # 100 a frame: 4 fit the budget of 450
        (1000, 2),  # over the budget alone: the keep_answered newest stay
    ]
    for points, kept in cases:
        latest = LatestFrames(keep=1, keep_answered=2, keep_documents=6, document_budget=450)
        for seq in range(10):
            latest.offer(_frame(seq), ("a",))
            latest.result(_outlined(seq, 10, points))
        held = [seq for seq in range(10) if latest.documents("cam", seq) is not None]
        assert held == list(range(10 - kept, 10)), (points, held)
