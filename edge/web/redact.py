"""The effective config as plain JSON with every secret and URL credential removed."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from enum import Enum
from pathlib import PurePath
from typing import Any

from edge.publish.config import SecretRef

HIDDEN = "***"
_SECRET_NAME = re.compile(r"(^|_)keys?($|_)|password|passwd|token|secret|credential", re.IGNORECASE)
_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")


def redact_text(text: str) -> str:
    """``rtsp://user:pass@host/x`` -> ``rtsp://***@host/x`` (anywhere in the text)."""
    return _USERINFO.sub(f"{HIDDEN}@", text)


def plain(value: Any, name: str = "") -> Any:
    """``value`` (dataclasses, mappings, sequences, paths, enums) as JSON values, secrets hidden."""
    if name and _SECRET_NAME.search(name) and value not in (None, "", (), [], {}):
        return HIDDEN
    if isinstance(value, SecretRef):
        return HIDDEN
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name), f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): plain(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [plain(v) for v in value]
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, str):
        return redact_text(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    text = getattr(value, "text", None)  # e.g. a SourceUri
    return redact_text(text if isinstance(text, str) else str(value))
