"""The config loader fuzzed: generated YAML (random structures over the real keys, wrong types,
wrong values, and text that is barely YAML) is either a config or ConfigErrors whose every line
is one line naming the file (``FILE:LINE: ...``, or ``FILE: ...`` for a key that is missing
altogether), never another exception and never a traceback."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from edge.config import _MODEL_KEYS, _STREAM_KEYS, _TOP_KEYS, ConfigErrors, EdgeConfig, parse_config
from edge.hosted.config import _KEYS as _HOSTED_KEYS
from edge.publish.config import _MQTT_KEYS
from edge.serve.config import _KEYS as _HTTP_KEYS
from tests.serve.helpers import DETECT

LABEL = "fuzz.yaml"
_LINE = re.compile(rf"^/\S*/{re.escape(LABEL)}(:\d+)?: \S")
_SPOOL_KEYS = ("directory", "max_bytes", "max_age", "sync_interval")
_WATCHDOG_KEYS = ("stall", "interval")
_SECTION_KEYS: dict[str, tuple[str, ...]] = {
    "mqtt": _MQTT_KEYS,
    "http": _HTTP_KEYS,
    "spool": _SPOOL_KEYS,
    "watchdog": _WATCHDOG_KEYS,
    "roboflow": ("api_key", "api_url", "cache_dir"),
}
# Scalars YAML can carry, with the awkward ones on purpose: NaN, infinities, huge numbers,
# durations, paths, references, and strings that look like other types.
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(["1s", "5m", "-3", "0", "nan", "inf", "1e400", "yes", "~", "", str(DETECT), "/", "any"])
    | st.sampled_from(["rtsp://u:p@cam/1", "file:///nope.mp4", "127.0.0.0/8", "0.0.0.0", "::1"])
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=12) | SCALARS, inner, max_size=3),
    max_leaves=8,
)


def _section(keys: tuple[str, ...]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(
        st.sampled_from(keys) | st.text(max_size=10), VALUES | st.just({"env": "EDGE_FUZZ_KEY"}), max_size=5
    )


def _named(keys: tuple[str, ...]) -> st.SearchStrategy[Any]:
    return (
        st.dictionaries(
            st.sampled_from(["det", "door", "a b", "", "x" * 80]) | st.text(max_size=8), _section(keys), max_size=2
        )
        | VALUES
    )


@st.composite
def configs(draw: st.DrawFn) -> dict[Any, Any]:
    """A mapping over the real keys: a good base with generated sections laid over it."""
    root: dict[Any, Any] = {"models": {"det": {"path": str(DETECT)}}}
    if draw(st.booleans()):
        root["http"] = {"port": 0}
    for key in draw(st.lists(st.sampled_from(_TOP_KEYS) | st.text(max_size=8), max_size=4, unique=True)):
        if key == "models":
            root[key] = draw(_named((*_MODEL_KEYS, "hosted")))
        elif key == "streams":
            root[key] = draw(_named(_STREAM_KEYS))
        elif key in _SECTION_KEYS:
            root[key] = draw(_section(_SECTION_KEYS[key]) | VALUES)
        else:
            root[key] = draw(VALUES)
    if draw(st.booleans()) and isinstance(root.get("models"), dict) and root["models"]:
        name = next(iter(root["models"]))
        if isinstance(root["models"][name], dict):
            root["models"][name]["hosted"] = draw(_section(_HOSTED_KEYS) | VALUES)
    return root


def _check(text: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:  # relative paths start at the config's folder
        try:
            config = parse_config(text, Path(tmp) / LABEL)
        except ConfigErrors as exc:
            assert exc.lines, "ConfigErrors with no line"
            for line in exc.lines:
                assert _LINE.match(line) and "\n" not in line and "Traceback" not in line, line
            return
    assert isinstance(config, EdgeConfig)


@given(configs())
@example({"models": {"det": {"path": str(DETECT), "confidence": float("nan")}}})
@example({"models": {"det": {"path": str(DETECT)}}, "http": {"port": 0, "max_pixels": 2**70}})
def test_generated_configs_are_a_config_or_one_line_errors(root: dict[Any, Any]) -> None:
    _check(yaml.safe_dump(root, allow_unicode=True, sort_keys=False))


_PIECES = st.sampled_from([*list(":-[]{}&*!|>'\"%@`#,? \n\tabc01."), "models", "streams", "http", "path"])


@given(st.lists(_PIECES, max_size=40).map("".join))
@example("models: &a [*a]")
@example("!!python/object:os.system {}")
@example(
    "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    + "".join(f"{c}: &{c} [{', '.join(['*' + p] * 10)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
)  # billion laughs
@example("[" * 5000 + "]" * 5000)  # deeper than PyYAML's recursive composer goes
@example('models:\n  det: {path: x}\n"a\\nb": 1\n')  # a key with a line break in it
def test_text_that_is_barely_yaml_is_refused_in_one_line(text: str) -> None:
    _check(text)


@given(configs(), st.integers(0, 400), st.sampled_from(["cut", "tab", "dup"]))
def test_a_damaged_config_file_is_refused_in_one_line(root: dict[Any, Any], at: int, damage: str) -> None:
    text = yaml.safe_dump(root, allow_unicode=True, sort_keys=False)
    at = min(at, len(text))
    if damage == "cut":
        text = text[:at]
    elif damage == "tab":
        text = text[:at] + "\t" + text[at:]
    else:  # the first line twice: a duplicate key
        text = text.split("\n", 1)[0] + "\n" + text
    _check(text)
