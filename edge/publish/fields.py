"""Typed readers for one section of the YAML config, each error naming the full key path.

Every reader raises :class:`ConfigError` with a one-line message of the form
``<where>.<key>: <what is wrong and what to do>``, e.g. ``mqtt.qos: must be 0, 1 or 2, got 5``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Mapping
from typing import Any

from edge.errors import EdgeError


class ConfigError(EdgeError):
    """A config value that cannot be used as given; the message names its key path."""


def check_mapping(data: object, where: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: must be a mapping of keys to values, got {_show(data)}")
    return data


def shown_key(key: object) -> str:
    """A key as an error shows it: quoted when it holds a line break or another unprintable
    character (so every error stays one line), or is empty or padded with spaces (so it shows)."""
    text = str(key)
    return text if text.isprintable() and text and text.strip() == text else repr(text)


def check_keys(data: Mapping[str, Any], allowed: Collection[str], where: str) -> None:
    """Reject unknown keys, suggesting the nearest known one: a typo must not be silently ignored."""
    for key in data:
        if key in allowed:
            continue
        close = difflib.get_close_matches(str(key), list(allowed), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; known keys: {', '.join(sorted(allowed))}"
        raise ConfigError(f"{where}.{shown_key(key)}: unknown key{hint}")


def get_str(data: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str | None:
    value = data.get(key, default)
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{where}.{key}: must be a non-empty string, got {_show(value)}")
    return value


def get_int(data: Mapping[str, Any], key: str, where: str, default: int, lo: int, hi: int) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}.{key}: must be a whole number, got {_show(value)}")
    if not lo <= value <= hi:
        raise ConfigError(f"{where}.{key}: must be between {lo} and {hi}, got {value}")
    return value


def get_bool(data: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}.{key}: must be true or false, got {_show(value)}")
    return value


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4}


def parse_size(value: object, where: str) -> int:
    """Bytes from a whole number or a string like ``512MiB``, ``2GB`` (KiB = 1024, KB = 1000)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    m = _SIZE.match(value) if isinstance(value, str) else None
    if m is None:
        raise ConfigError(f"{where}: must be a size in bytes such as 268435456, '256MiB' or '1GB', got {_show(value)}")
    unit = m.group(2).lower()
    scale = _SIZE_UNITS[unit[:1] if unit[:1] != "b" else ""]
    if "i" in unit:
        scale = 1024 ** ("kmgt".index(unit[0]) + 1)
    return int(float(m.group(1)) * scale)


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$", re.IGNORECASE)
_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: object, where: str) -> float:
    """Seconds from a number or a string like ``90s``, ``30m``, ``12h``, ``7d``."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    m = _DURATION.match(value) if isinstance(value, str) else None
    if m is None:
        raise ConfigError(
            f"{where}: must be a duration in seconds such as 30, '15m', '12h' or '7d', got {_show(value)}"
        )
    return float(m.group(1)) * _DURATION_UNITS[(m.group(2) or "s").lower()]


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
