"""The v1 route's query parameters (spec section 1.3), with the hosted API's scale rules.

Unknown parameters are ignored, as the hosted API does; a known one with a wrong value is a
:class:`ParamError`, answered 422 with FastAPI's ``detail`` shape like the real server. The
mask options follow Roboflow's server (roboflow/inference ``legacy_infer_from_request``): a
``response_mask_format`` other than polygon/rle or a ``tradeoff_factor`` that is no number is a
422 whatever the model; ``mask_decode_mode`` and the factor's range are checked for instance
segmentation models only (others ignore both), and a bad one is a 400 with the server's message.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from edge.errors import EdgeError
from edge.tasks.params import MASK_FORMATS, InferenceParams

FORMATS = ("json", "image", "image_and_json")
_TRUE = ("true", "1", "yes")
_FALSE = ("false", "0", "no")


MASK_DECODE_MESSAGE = (
    "Invalid mask decode argument sent. tradeoff_factor must be in [0.0, 1.0], "
    "mask_decode_mode: must be one of ['accurate', 'fast', 'tradeoff']"
)


class ParamError(EdgeError):
    """``status`` 422: answered with FastAPI's ``detail``; 400: with ``{"message": detail}``."""

    def __init__(self, name: str, message: str, status: int = 422) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name
        self.detail = message
        self.status = status


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


def _mask_options(query: Mapping[str, str], segmentation: bool) -> tuple[str, float, str]:
    """(mask_decode_mode, tradeoff_factor, response_mask_format); the defaults for other tasks."""
    mask_format = query.get("response_mask_format", "polygon")
    if mask_format not in MASK_FORMATS:  # a Literal query parameter on the server: 422 for any task
        raise ParamError("response_mask_format", f"Input should be 'polygon' or 'rle', got {mask_format[:40]!r}")
    factor = _float(query, "tradeoff_factor", 0.0)
    mode = query.get("mask_decode_mode", "accurate")
    if not segmentation:
        return "accurate", 0.0, "polygon"
    if mode not in ("accurate", "fast", "tradeoff") or (mode == "tradeoff" and not 0.0 <= factor <= 1.0):
        raise ParamError("mask_decode_mode", MASK_DECODE_MESSAGE, 400)
    # The server reads the factor in tradeoff mode only, so out of range elsewhere is no error.
    return mode, factor if mode == "tradeoff" else 0.0, mask_format


def parse_params(query: Mapping[str, str], segmentation: bool = True) -> RouteParams:
    """``segmentation``: the model is an instance segmentation one, the only task that reads
    the mask options."""
    mode, factor, mask_format = _mask_options(query, segmentation)
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
            mask_decode_mode=mode,
            tradeoff_factor=factor,
            response_mask_format=mask_format,
        )
    except ParamError:
        raise
    except EdgeError as exc:  # InferenceParams names the parameter first
        text = str(exc)
        raise ParamError(text.split(" ", 1)[0], text) from None
    return RouteParams(inference, fmt, _bool(query, "labels", False), _int(query, "stroke", 1, 1, 50))
