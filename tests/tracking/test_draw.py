"""Zones and lines drawn on snapshots, with their counts."""

from __future__ import annotations

from types import MappingProxyType

import numpy as np

from edge.tracking.draw import LINE_COLOUR, ZONE_COLOUR, draw_tracking, line_label, zone_label
from edge.tracking.lines import LineConfig
from edge.tracking.settings import TrackingSettings
from edge.tracking.zones import ZoneConfig

ZONE = ZoneConfig("porch", ((0.5, 0.5), (0.9, 0.5), (0.9, 0.9), (0.5, 0.9)))
LINE = LineConfig("door", ((0.0, 0.25), (1.0, 0.25)))
SETTINGS = TrackingSettings("det", zones=MappingProxyType({"porch": ZONE}), lines=MappingProxyType({"door": LINE}))
COUNTS = {"lines/door/person": {"in": 3, "out": 1}, "lines/door/car": {"in": 1, "out": 0}, "zones/porch/all": 2}


def test_labels_sum_a_line_over_its_classes_and_give_a_zones_occupancy() -> None:
    assert line_label("door", COUNTS) == "door: in 4 out 1"
    assert zone_label("porch", COUNTS) == "porch: 2 inside"
    assert zone_label("porch", {}) == "porch: 0 inside"


def test_the_zone_is_shaded_and_outlined_and_the_line_drawn_where_configured() -> None:
    image = np.zeros((200, 400, 3), dtype=np.uint8)
    out = draw_tracking(image, SETTINGS, COUNTS)
    assert out.shape == image.shape and not image.any()  # a copy; the input is untouched
    assert tuple(out[180, 380]) == (0, 0, 0)  # outside the zone: untouched
    inside = out[160, 300].astype(int)  # shaded towards the zone colour
    assert inside[1] > 20 and inside[1] > inside[0]
    assert tuple(out[100, 280]) == ZONE_COLOUR  # its left edge at x = 0.5
    assert tuple(out[50, 20]) == LINE_COLOUR  # the line at y = 0.25
    below = out[55:80, 195:205]  # the arrow to the "in" side: down, for a line drawn left to right
    assert (below == LINE_COLOUR).all(axis=2).any()
    above = out[20:45, 195:205]
    assert not (above == LINE_COLOUR).all(axis=2).any()
