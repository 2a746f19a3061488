"""A stream's ``tracking:``, ``zones:`` and ``lines:`` keys in the daemon's YAML, parsed into
:class:`TrackingSettings`.

Every error is one line that names its full key path (``streams.door.zones.porch.polygon[2]:
...``), so ``edge.config`` prefixes it with the file and line. Every zone and line is checked, so
one ``edge validate`` lists every mistake. What needs the model itself (its task and class names)
is checked by :func:`check_model` once the model's spec is read (``edge validate``, daemon start).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import fields
from types import MappingProxyType
from typing import Any

import numpy as np

from edge.publish.fields import ConfigError, check_keys, check_mapping, parse_duration
from edge.tracking.bytetrack import TrackerConfig
from edge.tracking.geometry import ANCHORS, Anchor, segments_cross
from edge.tracking.lines import LineConfig
from edge.tracking.settings import TrackingSettings
from edge.tracking.zones import ZoneConfig

STREAM_KEYS = ("tracking", "zones", "lines")  # the stream keys this module owns
_SECONDS = ("lost_after", "confirm_after", "stationary_s")  # TrackerConfig fields that are durations
_SCORES = ("high_score", "low_score", "new_track_score", "match_iou", "low_match_iou", "stationary_frac")
_TRACKING_KEYS = ("model", "confirm_hits", "class_aware", "reorder_s", "max_gap", "daily_reset", *_SECONDS, *_SCORES)
_ZONE_KEYS = ("polygon", "classes", "anchor", "enter_s", "exit_grace_s", "loiter_s")
_LINE_KEYS = ("points", "classes", "anchor", "band")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")  # one MQTT topic level, a file-safe word
TRACKABLE_TASKS = ("object-detection", "instance-segmentation", "keypoint-detection")


def parse_stream_tracking(d: Mapping[str, Any], where: str, models: Sequence[str]) -> TrackingSettings | None:
    """The tracking settings of the stream whose mapping is ``d`` (``where``: ``streams.<name>``),
    or None without ``tracking:``. ``models``: the models the stream runs. Raises ConfigError with
    one line per problem."""
    errors: list[str] = []
    raw = d.get("tracking")
    if raw is None:
        for key in ("zones", "lines"):
            if d.get(key):
                errors.append(f"{where}.{key}: {key} need tracking; add tracking: {{model: NAME}} to this stream")
        _raise(errors)
        return None
    tracking = _run(errors, lambda: _tracking(raw, f"{where}.tracking", models), f"{where}.tracking")
    zones = _section(d.get("zones"), f"{where}.zones", _zone, errors)
    lines = _section(d.get("lines"), f"{where}.lines", _line, errors)
    _raise(errors)
    assert tracking is not None  # no errors: it parsed
    model, tracker, reorder_s, max_gap, daily = tracking
    return TrackingSettings(
        model, tracker, MappingProxyType(dict(zones)), MappingProxyType(dict(lines)), reorder_s, max_gap, daily
    )


def check_model(settings: TrackingSettings, where: str, task: str, class_names: Sequence[str]) -> list[str]:
    """What the tracked model (``task``, ``class_names``) cannot do for these settings, one line
    each, keyed like the parser's errors so the caller can add file and line."""
    if task not in TRACKABLE_TASKS:
        return [
            f"{where}.tracking.model: {settings.model} is a {task} model; tracking needs object-detection, "
            "instance-segmentation or keypoint-detection"
        ]
    known = set(class_names)
    problems = []
    for kind, section in (("zones", settings.zones), ("lines", settings.lines)):
        for name, cfg in section.items():
            for cls in sorted(cfg.classes or ()):
                if cls not in known:
                    have = ", ".join(class_names)
                    problems.append(
                        f"{where}.{kind}.{name}.classes: model {settings.model} has no class {cls!r} (it has: {have})"
                    )
    return problems


# -- sections ------------------------------------------------------------------------------


def _tracking(raw: object, where: str, models: Sequence[str]) -> tuple[str, TrackerConfig, float, float, bool]:
    t = check_mapping(raw, where)
    check_keys(t, _TRACKING_KEYS, where)
    model = t.get("model")
    if not isinstance(model, str) or not model:
        raise ConfigError(f"{where}.model: required: the name of the model to track, one of {', '.join(models)}")
    if model not in models:
        raise ConfigError(f"{where}.model: {model!r} does not run on this stream; use one of {', '.join(models)}")
    defaults = TrackerConfig()
    values: dict[str, Any] = {}
    for key in _SECONDS:
        values[key] = _duration(t, key, where, getattr(defaults, key), positive=key == "lost_after")
    for key in _SCORES:
        values[key] = _fraction(t, key, where, getattr(defaults, key))
    hits = t.get("confirm_hits", defaults.confirm_hits)
    if isinstance(hits, bool) or not isinstance(hits, int) or not 1 <= hits <= 1000:
        raise ConfigError(f"{where}.confirm_hits: must be a whole number from 1 to 1000, got {hits!r}")
    aware = t.get("class_aware", defaults.class_aware)
    if not isinstance(aware, bool):
        raise ConfigError(f"{where}.class_aware: must be true or false, got {aware!r}")
    known = {f.name for f in fields(TrackerConfig)}
    values.update(confirm_hits=hits, class_aware=aware)
    try:
        tracker = TrackerConfig(**{k: v for k, v in values.items() if k in known})
    except ValueError as exc:
        raise ConfigError(f"{where}: {str(exc).removeprefix('tracker: ')}") from None
    reorder_s = _duration(t, "reorder_s", where, 0.5, positive=False)
    max_gap = _duration(t, "max_gap", where, 5.0, positive=True)
    daily = t.get("daily_reset", False)
    if not isinstance(daily, bool):
        raise ConfigError(f"{where}.daily_reset: must be true or false, got {daily!r}")
    return model, tracker, reorder_s, max_gap, daily


def _zone(name: str, raw: object, where: str) -> ZoneConfig:
    z = check_mapping(raw, where)
    check_keys(z, _ZONE_KEYS, where)
    polygon = _points(
        z.get("polygon"),
        f"{where}.polygon",
        "a polygon of at least 3 [x, y] points, e.g. [[0.1, 0.5], [0.6, 0.5], [0.6, 1.0]]",
    )
    if len(polygon) < 3:
        raise ConfigError(f"{where}.polygon: a polygon needs at least 3 points, got {len(polygon)}")
    if _self_crossing(polygon):
        raise ConfigError(f"{where}.polygon: the polygon crosses itself; list its points in order around it")
    loiter = z.get("loiter_s")
    return ZoneConfig(
        name,
        polygon,
        _classes(z.get("classes"), f"{where}.classes"),
        _anchor(z.get("anchor"), f"{where}.anchor"),
        _duration(z, "enter_s", where, 0.5, positive=False),
        _duration(z, "exit_grace_s", where, 1.0, positive=False),
        None if loiter is None else _duration(z, "loiter_s", where, 0.0, positive=True),
    )


def _line(name: str, raw: object, where: str) -> LineConfig:
    ln = check_mapping(raw, where)
    check_keys(ln, _LINE_KEYS, where)
    points = _points(ln.get("points"), f"{where}.points", "two [x, y] points, e.g. [[0.0, 0.6], [1.0, 0.6]]")
    if len(points) != 2:
        raise ConfigError(f"{where}.points: a line needs exactly 2 points, got {len(points)}")
    if points[0] == points[1]:
        raise ConfigError(f"{where}.points: the two points are the same; a line needs two different points")
    band = ln.get("band", 0.01)
    if isinstance(band, bool) or not isinstance(band, (int, float)) or not 0 <= band < 0.5:
        raise ConfigError(f"{where}.band: must be a number from 0 to 0.5 (of the frame), got {band!r}")
    return LineConfig(
        name,
        (points[0], points[1]),
        _classes(ln.get("classes"), f"{where}.classes"),
        _anchor(ln.get("anchor"), f"{where}.anchor"),
        float(band),
    )


# -- values --------------------------------------------------------------------------------


def _points(raw: object, where: str, example: str) -> tuple[tuple[float, float], ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(f"{where}: required: {example}")
    out = []
    for i, p in enumerate(raw):
        ok = isinstance(p, list) and len(p) == 2
        if not ok or any(isinstance(v, bool) or not isinstance(v, (int, float)) for v in p):
            raise ConfigError(f"{where}[{i}]: a point is [x, y] with two numbers, got {p!r}")
        x, y = float(p[0]), float(p[1])
        if not (0 <= x <= 1 and 0 <= y <= 1):
            raise ConfigError(f"{where}[{i}]: [{x:g}, {y:g}] is outside the frame; coordinates are 0-1 of it")
        out.append((x, y))
    return tuple(out)


def _self_crossing(polygon: Sequence[tuple[float, float]]) -> bool:
    pts = np.asarray(polygon, dtype=np.float64)
    n = len(pts)
    for i in range(n):  # config time only: a handful of edges
        for j in range(i + 2, n):
            if i == 0 and j == n - 1:
                continue  # adjacent through the closing edge
            if segments_cross(pts[i : i + 1], pts[i + 1 : i + 2], pts[j], pts[(j + 1) % n])[0]:
                return True
    return False


def _classes(raw: object, where: str) -> frozenset[str] | None:
    if raw is None:
        return None  # every class
    names = [raw] if isinstance(raw, str) else raw
    if not isinstance(names, list) or not names or not all(isinstance(c, str) and c for c in names):
        raise ConfigError(f"{where}: list class names, e.g. [person, car], or leave it out for every class")
    return frozenset(names)


def _anchor(raw: object, where: str) -> Anchor:
    if raw is None:
        return "bottom_center"
    for anchor in ANCHORS:
        if raw == anchor:
            return anchor
    raise ConfigError(f"{where}: use one of {', '.join(ANCHORS)}, got {raw!r}")


def _duration(d: Mapping[str, Any], key: str, where: str, default: float, positive: bool) -> float:
    value = parse_duration(d.get(key, default), f"{where}.{key}")
    if value < 0 or (positive and value == 0):
        raise ConfigError(f"{where}.{key}: must be {'more than' if positive else 'at least'} 0 seconds, got {value:g}")
    return value


def _fraction(d: Mapping[str, Any], key: str, where: str, default: float) -> float:
    value = d.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise ConfigError(f"{where}.{key}: must be a number from 0 to 1, got {value!r}")
    return float(value)


def _section(raw: object, where: str, parse: Any, errors: list[str]) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        errors.append(
            f"{where}: must be a mapping of names to settings, e.g. {where.rsplit('.', 1)[-1]}: {{door: ...}}"
        )
        return {}
    out = {}
    for name, value in raw.items():
        if not isinstance(name, str) or not _NAME.match(name):
            errors.append(f"{where}.{name}: {name!r} is not a usable name; use letters, digits, '_', '-' or '.'")
            continue
        item = _run(errors, lambda n=str(name), v=value: parse(n, v, f"{where}.{n}"), f"{where}.{name}")
        if item is not None:
            out[str(name)] = item
    return out


def _run(errors: list[str], build: Any, where: str) -> Any:
    try:
        return build()
    except ConfigError as exc:
        errors.extend(str(exc).splitlines())
    except ValueError as exc:  # the library's own checks, as a last line of defence
        errors.append(f"{where}: {exc}")
    return None


def _raise(errors: list[str]) -> None:
    if errors:
        raise ConfigError("\n".join(errors))
