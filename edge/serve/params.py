"""The v1 route's query parameters (spec section 1.3), with the hosted API's scale rules.

Unknown parameters are ignored, as the hosted API does; a known one with a wrong value is a
:class:`ParamError`, answered 422 with FastAPI's ``detail`` shape like the real server.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from edge.errors import EdgeError
from edge.tasks.params import InferenceParams

FORMATS = ("json", "image", "image_and_json")
_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")


class ParamError(EdgeError):
    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.detail = message


@dataclass(frozen=True)
class RouteParams:
    inference: InferenceParams
    format: str = "json"
    labels: bool = False
    stroke: int = 1


def _float(query: Mapping[str, str], name: str, default: float) -> float:
    text = query.get(name)
    if text is None or text == "":
        return default
    try:
        return float(text)
    except ValueError:
        raise ParamError(name, f"a number is needed, got {text[:40]!r}") from None


def _int(query: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    text = query.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise ParamError(name, f"a whole number is needed, got {text[:40]!r}") from None
    if not lo <= value <= hi:
        raise ParamError(name, f"must be within {lo}..{hi}, got {value}")
    return value


def _bool(query: Mapping[str, str], name: str, default: bool) -> bool:
    text = query.get(name)
    if text is None or text == "":
        return default
    if text.lower() in _TRUE:  # inference_sdk sends Python's True/False
        return True
    if text.lower() in _FALSE:
        return False
    raise ParamError(name, f"true or false, got {text[:40]!r}")


def parse_params(query: Mapping[str, str]) -> RouteParams:
    fmt = (query.get("format") or "json").lower()
    if fmt not in FORMATS:
        raise ParamError("format", f"one of {', '.join(FORMATS)}, got {fmt[:40]!r}")
    confidence = query.get("confidence")
    # Newer servers take "best"/"default"; edge has no per-model optimum, so both mean the default.
    conf_query = {"confidence": ""} if confidence in ("best", "default") else query
    try:
        inference = InferenceParams.from_hosted(
            confidence=_float(conf_query, "confidence", 0.4),
            overlap=_float(query, "overlap", 0.3),
            max_detections=_int(query, "max_detections", 300, 0, 100_000),
            keypoint_confidence=_float(query, "keypoint_confidence", 0.0),
        )
    except ParamError:
        raise
    except EdgeError as exc:  # InferenceParams names the parameter first
        text = str(exc)
        raise ParamError(text.split(" ", 1)[0], text) from None
    return RouteParams(inference, fmt, _bool(query, "labels", False), _int(query, "stroke", 1, 1, 50))
