from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from edge.tracking.state import TrackingState, load


def test_save_then_load_gives_the_same_state(tmp_path: Path) -> None:
    state = TrackingState(next_id=42, lines={"door": {"person": {"in": 3, "out": 1}}}, day="2026-12-02")
    path = tmp_path / "sub" / "door.json"
    state.save(path)
    assert load(path) == state
    assert [p.name for p in path.parent.iterdir()] == ["door.json"]  # no temp file left behind


def test_save_replaces_the_previous_file(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    TrackingState(next_id=2).save(path)
    TrackingState(next_id=9).save(path)
    loaded = load(path)
    assert loaded is not None and loaded.next_id == 9


def test_missing_file_is_none_without_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    assert load(tmp_path / "absent.json") is None
    assert not caplog.records


@pytest.mark.parametrize(
    "text",
    [
        "{not json",
        "[]",
        '{"next_id": 0}',
        '{"next_id": "3"}',
        '{"next_id": 3, "lines": {"door": {"person": {"in": -1}}}}',
        '{"next_id": 3, "lines": {"door": {"person": {"up": 1}}}}',
        '{"next_id": 3, "lines": {"door": [1]}}',
        '{"next_id": 3, "extra": 1}',
        '{"version": 99, "next_id": 3}',
    ],
)
def test_corrupt_file_warns_in_one_line_and_gives_none(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    path = tmp_path / "s.json"
    path.write_text(text)
    with caplog.at_level(logging.WARNING):
        assert load(path) is None
    [record] = caplog.records
    message = record.getMessage()
    assert "corrupt" in message and "\n" not in message and "fresh counts" in message


def test_from_json_fills_missing_directions_with_zero() -> None:
    state = TrackingState.from_json({"next_id": 5, "lines": {"a": {"car": {"in": 2}}}})
    assert state.lines == {"a": {"car": {"in": 2, "out": 0}}}
    assert TrackingState.from_json(state.to_json()) == state


def test_to_json_is_plain_json() -> None:
    doc = TrackingState(next_id=3, lines={"a": {"car": {"in": 1, "out": 2}}}).to_json()
    assert json.loads(json.dumps(doc)) == {"version": 1, "next_id": 3, "day": None, "lines": doc["lines"]}
