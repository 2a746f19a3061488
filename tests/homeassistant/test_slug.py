from __future__ import annotations

import re

import pytest

from edge.homeassistant.discovery import HaTopics
from edge.homeassistant.slug import entity_part, slug
from edge.publish.topics import Topics

LEGAL = re.compile(r"^[a-zA-Z0-9_-]+$")


@pytest.mark.parametrize("name", ["door", "front-door", "cam_1", "A9"])
def test_legal_names_are_kept(name: str) -> None:
    assert slug(name) == name


@pytest.mark.parametrize(
    "names",
    [
        ("cam/1", "cam_1", "cam.1", "cam 1", "cam%2F1"),
        ("traffic light", "traffic_light", "traffic-light"),
        ("é", "è", "_", ""),
        # a legal name that looks like a hashed slug is hashed too, so it cannot equal one
        ("cam/1", "cam_1_" + slug("cam/1").rsplit("_", 1)[1]),
    ],
)
def test_distinct_names_get_distinct_legal_slugs(names: tuple[str, ...]) -> None:
    slugs = [slug(n) for n in names]
    assert len(set(slugs)) == len(names), slugs
    assert all(LEGAL.match(s) for s in slugs), slugs


def test_joined_ids_do_not_collide_when_parts_hold_underscores() -> None:
    a = HaTopics(Topics("edge", "a"), "homeassistant")
    a_b = HaTopics(Topics("edge", "a_b"), "homeassistant")
    assert a.ident("b_c") != a_b.ident("c")
    assert a.ident("b", "c") != a.ident("b_c")
    assert a.ident("door", "person") == "edge_a_door_person"  # no hash where nothing is ambiguous


@pytest.mark.parametrize(("name", "want"), [("Front Door", "front_door"), ("cam.1", "cam_1"), ("--", "edge")])
def test_entity_part_is_what_home_assistant_slugifies_to(name: str, want: str) -> None:
    assert entity_part(name) == want
