"""The JSON manifest written next to each engine: its key fields, its hash, where it came from.

The manifest is written after the engine, so its presence marks a complete entry; the
engine's sha256 in it is what catches a truncated or corrupted engine file at load time.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from edge import __version__
from edge.engines.errors import EngineError
from edge.engines.key import EngineKey

MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class Manifest:
    model: str
    key: EngineKey
    engine_sha256: str
    engine_bytes: int
    created: datetime
    build_seconds: float
    onnx_path: str
    edge_version: str = __version__

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[0-9a-f]{64}", self.engine_sha256):
            raise EngineError(f"engine_sha256 must be 64 hex digits, got {self.engine_sha256!r}")
        if self.engine_bytes <= 0:
            raise EngineError(f"engine_bytes must be positive, got {self.engine_bytes}")
        if self.created.tzinfo is None:
            raise EngineError("manifest times must carry a time zone")

    @property
    def digest(self) -> str:
        return self.key.digest

    def to_json(self) -> str:
        doc: dict[str, Any] = {
            "manifest_format": MANIFEST_FORMAT,
            "model": self.model,
            "key": self.digest,
            "inputs": self.key.fields(),
            "engine": {"file": f"{self.digest}.engine", "sha256": self.engine_sha256, "bytes": self.engine_bytes},
            "created": self.created.astimezone(timezone.utc).isoformat(timespec="seconds"),
            "build_seconds": round(self.build_seconds, 3),
            "onnx_path": self.onnx_path,
            "edge_version": self.edge_version,
        }
        return json.dumps(doc, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        """Parse a manifest; EngineError if it is not one this version understands or its key
        field disagrees with its inputs (an edited or half-written file)."""
        try:
            doc = json.loads(text)
            if doc.get("manifest_format") != MANIFEST_FORMAT:
                raise EngineError(f"unsupported manifest_format {doc.get('manifest_format')!r}")
            key = EngineKey.from_fields(doc["inputs"])
            m = cls(
                model=str(doc["model"]),
                key=key,
                engine_sha256=str(doc["engine"]["sha256"]),
                engine_bytes=int(doc["engine"]["bytes"]),
                created=datetime.fromisoformat(str(doc["created"])),
                build_seconds=float(doc["build_seconds"]),
                onnx_path=str(doc["onnx_path"]),
                edge_version=str(doc.get("edge_version", "")),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise EngineError(f"unreadable manifest ({type(exc).__name__}: {exc})") from None
        if doc.get("key") != m.digest:
            raise EngineError(f"manifest key {doc.get('key')!r} does not match its inputs ({m.digest})")
        return m
