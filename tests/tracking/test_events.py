from __future__ import annotations

import pytest

from edge.tracking.events import Event, track_end, track_new
from edge.tracking.track import EndedTrack, TrackSummary

SUMMARY = TrackSummary(5, 2, 10.0, 14.5, 0.93, 40, True)


def test_every_event_has_the_common_shape() -> None:
    new = track_new(SUMMARY, "car", source="hosted").to_json()
    end = track_end(EndedTrack(SUMMARY, 15.5, "lost"), "car", zones={"drive": 4.0}).to_json()
    for doc in (new, end):
        assert {"type", "ts", "stream", "model", "tracker_id", "class", "source"} <= doc.keys()
    assert new == {
        "type": "track.new",
        "ts": 14.5,
        "stream": "",
        "model": "",
        "tracker_id": 5,
        "class": "car",
        "source": "hosted",
    }
    assert end["duration_s"] == 4.5 and end["reason"] == "lost" and end["stationary"] is True
    assert end["zones"] == {"drive": 4.0}


def test_unknown_event_type_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown type"):
        Event("zone.wander", 0.0, 1, "car")
