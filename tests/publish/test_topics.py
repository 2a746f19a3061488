from __future__ import annotations

from urllib.parse import unquote

import pytest

from edge.publish.topics import Topics, topic_level, topic_problem


@pytest.mark.parametrize(
    ("name", "level"),
    [
        ("cam1", "cam1"),
        ("gate/1", "gate%2F1"),
        ("a+b#c", "a%2Bb%23c"),
        ("100%", "100%25"),
        ("nul\x00tab\t", "nul%00tab%09"),
        ("Kamera Süd", "Kamera Süd"),
        ("$SYS", "$SYS"),  # a '$' only matters at the start of a whole topic
    ],
)
def test_topic_level(name: str, level: str) -> None:
    assert topic_level(name) == level
    assert unquote(level) == name


def test_different_names_never_share_a_topic() -> None:
    names = ["a/b", "a%2Fb", "a_b", "a+b", "a%2Bb"]
    assert len({topic_level(n) for n in names}) == len(names)


def test_topics() -> None:
    t = Topics("site/line1", "jetson")
    assert t.result("cam/1", "det") == "site/line1/jetson/cam%2F1/det/predictions"
    assert (t.status, t.stats, t.all_results) == (
        "site/line1/jetson/status",
        "site/line1/jetson/stats",
        "site/line1/jetson/+/+/predictions",
    )


@pytest.mark.parametrize(
    ("value", "levels", "problem"),
    [
        ("edge", True, None),
        ("a/b", True, None),
        ("a/b", False, "must not contain '/'"),
        ("", True, "must not be empty"),
        ("a//b", True, "empty level"),
        ("a\nb", False, "control characters"),
        ("x" * 1100, False, "at most 1024 bytes"),
    ],
)
def test_topic_problem(value: str, levels: bool, problem: str | None) -> None:
    found = topic_problem(value, levels=levels)
    assert found == problem if problem is None else problem in (found or "")


def test_tracking_topics_encode_each_level() -> None:
    from edge.publish.topics import Topics

    t = Topics("edge", "dev1")
    assert t.events("door") == "edge/dev1/door/events"
    assert t.counter("door", "zones/porch/all") == "edge/dev1/door/zones/porch/all"
    assert t.counter("cam+1", "lines/in/out#side/a/b") == "edge/dev1/cam%2B1/lines/in/out%23side%2Fa%2Fb"
