"""JSON Schemas of the hosted API v1 responses we emit, one per task.

Written from ``shared/specs/hosted-api-v1.md`` §2–3. No property may be null: an absent
value is an absent key. Tests validate every response against these.
"""

from __future__ import annotations

from typing import Any

_NUM = {"type": "number"}
_UNIT = {"type": "number", "minimum": 0, "maximum": 1}
_ID = {"type": "integer", "minimum": 0}
_STR = {"type": "string"}

_ENVELOPE: dict[str, Any] = {
    "inference_id": {"type": "string", "minLength": 1},
    "time": {"type": "number", "minimum": 0},
    "image": {
        "type": "object",
        "properties": {"width": {"type": "integer", "minimum": 1}, "height": {"type": "integer", "minimum": 1}},
        "required": ["width", "height"],
        "additionalProperties": False,
    },
}

_BOX_ITEM: dict[str, Any] = {
    "x": _NUM,
    "y": _NUM,
    "width": {"type": "number", "minimum": 0},
    "height": {"type": "number", "minimum": 0},
    "confidence": _UNIT,
    "class": _STR,
    "class_id": _ID,
    "detection_id": {"type": "string", "minLength": 1},
    "class_confidence": _UNIT,
}
_BOX_REQUIRED = ["x", "y", "width", "height", "confidence", "class", "class_id", "detection_id"]


def _doc(
    predictions: dict[str, Any], extra: dict[str, Any] | None = None, required: list[str] | None = None
) -> dict[str, Any]:
    props = {**_ENVELOPE, "predictions": predictions, **(extra or {})}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": props,
        "required": ["image", "predictions", *(required or [])],
        "additionalProperties": False,
    }


def _items(props: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {"type": "object", "properties": props, "required": required, "additionalProperties": False},
    }


OBJECT_DETECTION = _doc(_items(_BOX_ITEM, _BOX_REQUIRED))

_POLYGON_ITEM: dict[str, Any] = {
    "type": "object",
    "properties": {
        **_BOX_ITEM,
        "points": _items({"x": _NUM, "y": _NUM}, ["x", "y"]),
        "mask_format": {"const": "polygon"},
    },
    "required": [*_BOX_REQUIRED, "points"],
    "additionalProperties": False,
}
# response_mask_format=rle: a COCO compressed RLE of the whole frame instead of points.
_RLE_ITEM: dict[str, Any] = {
    "type": "object",
    "properties": {
        **_BOX_ITEM,
        "rle": {
            "type": "object",
            "properties": {
                "size": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 2, "maxItems": 2},
                # pycocotools' alphabet: each character is a 6-bit group + 48 ("0" to "o").
                "counts": {"type": "string", "pattern": "^[0-o]*$"},
            },
            "required": ["size", "counts"],
            "additionalProperties": False,
        },
        "mask_format": {"const": "rle"},
    },
    "required": [*_BOX_REQUIRED, "rle", "mask_format"],
    "additionalProperties": False,
}

INSTANCE_SEGMENTATION = _doc({"type": "array", "items": {"oneOf": [_POLYGON_ITEM, _RLE_ITEM]}})

KEYPOINT_DETECTION = _doc(
    _items(
        {
            **_BOX_ITEM,
            "keypoints": _items(
                {"x": _NUM, "y": _NUM, "confidence": _UNIT, "class_id": _ID, "class": _STR, "class_name": _STR},
                ["x", "y", "confidence", "class_id"],
            ),
        },
        [*_BOX_REQUIRED, "keypoints"],
    )
)

CLASSIFICATION = _doc(
    _items({"class": _STR, "class_id": _ID, "confidence": _UNIT}, ["class", "class_id", "confidence"]),
    {"top": _STR, "confidence": _UNIT},
    ["top", "confidence"],
)

MULTI_LABEL_CLASSIFICATION = _doc(
    {
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "properties": {"confidence": _UNIT, "class_id": _ID},
            "required": ["confidence", "class_id"],
            "additionalProperties": False,
        },
    },
    {"predicted_classes": {"type": "array", "items": _STR}},
    ["predicted_classes"],
)

SEMANTIC_SEGMENTATION: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        **_ENVELOPE,
        # base64 of a PNG: the signature encodes to "iVBORw0KGgo".
        "segmentation_mask": {"type": "string", "pattern": "^iVBORw0KGgo"},
        "class_map": {
            "type": "object",
            "propertyNames": {"pattern": "^[0-9]+$"},
            "additionalProperties": _STR,
        },
    },
    "required": ["image", "segmentation_mask", "class_map"],
    "additionalProperties": False,
}


def schema_for(task: str, multi_label: bool = False) -> dict[str, Any]:
    """The schema for a task value of :class:`edge.models.Task`."""
    return {
        "object-detection": OBJECT_DETECTION,
        "instance-segmentation": INSTANCE_SEGMENTATION,
        "keypoint-detection": KEYPOINT_DETECTION,
        "classification": MULTI_LABEL_CLASSIFICATION if multi_label else CLASSIFICATION,
        "semantic-segmentation": SEMANTIC_SEGMENTATION,
    }[task]
