"""Every event the sequences produce validates against edge/tracking/events.schema.json."""

from __future__ import annotations

import copy
from functools import cache
from types import MappingProxyType
from typing import Any

import jsonschema
import pytest

from edge.messages import ResultSource
from edge.tracking.events import EVENT_TYPES, schema
from edge.tracking.lines import LineConfig
from edge.tracking.settings import TrackingSettings
from edge.tracking.stream import StreamTracking
from edge.tracking.zones import ZoneConfig
from tests.tracking.sequences import MODEL, drive, frames
from tests.tracking.world import Mover

VALIDATOR = jsonschema.Draft202012Validator(schema())


def _all_kinds_of_events() -> list[dict[str, Any]]:
    return copy.deepcopy(_events_once())


@cache
def _events_once() -> list[dict[str, Any]]:
    zone = ZoneConfig("porch", ((0.0, 0.5), (1.0, 0.5), (1.0, 1.0), (0.0, 1.0)), loiter_s=1.0)
    line = LineConfig("door", ((0.05, 0.4), (0.95, 0.4)))
    settings = TrackingSettings(MODEL, zones=MappingProxyType({"porch": zone}), lines=MappingProxyType({"door": line}))
    tracking = StreamTracking("door", settings)
    walker = Mover(start=(100, 80), velocity=(0, 120), t1=2.6)  # down through the line, stops in the zone
    stays = Mover(start=(400, 400), velocity=(0, 0), jitter=1.0, t1=5.0, class_id=1)  # loiters
    seq = frames([walker, stays], 7.0, fps=10, drop=0.2, uneven=0.3, seed=4)
    out = drive(tracking, seq, source=lambda f: ResultSource.HOSTED if f.frame % 4 == 0 else ResultSource.LOCAL)
    return out.events + [e.to_json() for e in tracking.gap(8.0)]


def test_the_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())


def test_every_event_type_the_sequences_produce_validates() -> None:
    events = _all_kinds_of_events()
    assert {e["type"] for e in events} == set(EVENT_TYPES)
    for event in events:
        VALIDATOR.validate(event)


@pytest.mark.parametrize(
    ("change", "why"),
    [
        (lambda e: e.pop("stream"), "'stream' is a required property"),
        (lambda e: e.update(tracker_id=0), "less than the minimum"),
        (lambda e: e.update(source="cloud"), "is not one of"),
        (lambda e: e.update(colour="red"), "nevaluated properties are not allowed"),
    ],
)
def test_a_malformed_event_is_refused(change: Any, why: str) -> None:
    event = next(e for e in _all_kinds_of_events() if e["type"] == "line.cross")
    change(event)
    with pytest.raises(jsonschema.ValidationError) as info:
        VALIDATOR.validate(event)
    assert why in str(info.value) or any(why in str(c.message) for c in info.value.context or [])
