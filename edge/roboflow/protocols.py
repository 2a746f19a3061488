"""What to download for ``project/version``: a :class:`Plan` from either download protocol.

Protocol B (the inference-models weights API, ``/models/v1/external/weights``) is asked
first; protocol A (the legacy ``/ort/{project}/{version}`` route) where B has no trusted ONNX
package or does not know the route. ``shared/specs/model-packages.md`` sections 1 and 6 give the
fields. Files the loader needs but the API only describes (``model_config.json`` for B;
``environment.json``, ``class_names.txt``, ``model_type.json`` for A) are written from the answer
exactly as Roboflow's own server writes them, so ``edge.models.package`` reads both layouts.
"""

from __future__ import annotations

import json
import os
import platform
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from edge.roboflow.client import ApiRefused, PullError, RoboflowApi

PROTOCOL_B = "inference-models"
PROTOCOL_A = "ort"
MAX_PAGES = 10  # as inference-models follows nextPage
_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_QUANT_RANK = {"fp32": 0, "fp16": 1, "bf16": 2, "unknown": 3, "int8": 4}


@dataclass(frozen=True)
class RemoteFile:
    name: str  # the file's name in the package directory
    url: str  # a download URL; never shown whole (it may be signed)
    md5: str | None  # hex, where the API gives one


@dataclass(frozen=True)
class Plan:
    """One package: the files to fetch and the small ones made from the API's answer."""

    model_id: str
    protocol: str  # PROTOCOL_B or PROTOCOL_A
    package_id: str
    files: tuple[RemoteFile, ...]
    generated: tuple[tuple[str, bytes], ...]  # (file name, content)

    def __post_init__(self) -> None:
        names = [f.name for f in self.files] + [n for n, _ in self.generated]
        bad = [n for n in names if not _FILE_NAME.match(n)]
        if bad:
            raise PullError(f"{self.model_id}: the API named a package file {bad[0]!r}; refusing a path outside it")
        if len(set(names)) != len(names):
            raise PullError(f"{self.model_id}: the API listed a package file twice")
        if not any(n.endswith(".onnx") for n in names):
            raise PullError(f"{self.model_id}: the package has no .onnx weights file")


def resolve(api: RoboflowApi, model_id: str) -> Plan:
    """The package to pull: protocol B's ONNX package, else protocol A's."""
    try:
        plan = resolve_b(api, model_id)
    except ApiRefused as exc:
        if exc.status != 404:  # 401/403 answer the same on both routes
            raise
        plan = None  # an API without the weights route, or a model only A serves
    return plan if plan is not None else resolve_a(api, model_id)


def resolve_b(api: RoboflowApi, model_id: str) -> Plan | None:
    meta: Mapping[str, Any] = {}
    packages: list[Any] = []
    token: str | None = None
    for _ in range(MAX_PAGES):
        params = {"modelId": model_id} | ({"startAfter": token} if token else {})
        doc = api.get_json("/models/v1/external/weights", params)
        page = doc.get("modelMetadata") if isinstance(doc, dict) else None
        if not isinstance(page, dict):
            raise PullError(f"{model_id}: the weights API answered without modelMetadata")
        meta = meta or page
        packages.extend(p for p in page.get("modelPackages") or [] if isinstance(p, dict))
        token = page.get("nextPage") or None
        if token is None:
            break
    onnx = [p for p in packages if _is_onnx(p) and p.get("trustedSource") is True]
    if not onnx:
        return None
    chosen = min(onnx, key=_preference)
    manifest = chosen["packageManifest"]
    files = tuple(
        RemoteFile(str(f.get("fileHandle", "")), str(f.get("downloadUrl", "")), f.get("md5Hash") or None)
        for f in chosen.get("packageFiles") or []
    )
    if not any(f.name == "class_names.txt" for f in files):
        raise PullError(f"{model_id}: the ONNX package lists no class_names.txt")
    config = {
        "model_id": model_id,
        "canonical_model_id": meta.get("modelId", model_id),
        "model_architecture": meta.get("modelArchitecture"),
        "model_variant": meta.get("modelVariant"),
        "task_type": meta.get("taskType"),
        "backend_type": "onnx",
        "quantization": manifest.get("quantization"),
        "dynamic_batch_size_supported": bool(manifest.get("dynamicBatchSize")),
        "static_batch_size": manifest.get("staticBatchSize"),
        "package_id": str(chosen.get("packageId", "")),
    }
    generated = () if any(f.name == "model_config.json" for f in files) else (("model_config.json", _json(config)),)
    return Plan(model_id, PROTOCOL_B, str(chosen.get("packageId", "")), files, generated)


def _is_onnx(package: Mapping[str, Any]) -> bool:
    manifest = package.get("packageManifest")
    return isinstance(manifest, dict) and manifest.get("type") == "onnx-model-package-v1"


def _preference(package: Mapping[str, Any]) -> tuple[int, int]:
    """Full precision first (what the hosted API answers with), then a dynamic batch."""
    manifest = package["packageManifest"]
    return _QUANT_RANK.get(str(manifest.get("quantization")), 3), 0 if manifest.get("dynamicBatchSize") else 1


def resolve_a(api: RoboflowApi, model_id: str) -> Plan:
    project, version = model_id.split("/")
    device = os.environ.get("DEVICE_ID") or platform.node() or "edge"
    params = {"nocache": "true", "device": device, "dynamic": "true"}
    doc = api.get_json(f"/ort/{project}/{version}", params, key_in_query=True)
    ort = doc.get("ort") if isinstance(doc, dict) else None
    if not isinstance(ort, dict) or not all(isinstance(ort.get(k), str) for k in ("model", "environment")):
        raise PullError(f"{model_id}: the /ort/ route answered without ort.model and ort.environment URLs")
    try:
        env = json.loads(api.get_bytes(ort["environment"]))
    except json.JSONDecodeError:
        raise PullError(f"{model_id}: environment.json from the /ort/ route is not JSON") from None
    if not isinstance(env, dict):
        raise PullError(f"{model_id}: environment.json from the /ort/ route is not a JSON object")
    if isinstance(ort.get("colors"), dict):
        env["COLORS"] = ort["colors"]
    generated: list[tuple[str, bytes]] = [("environment.json", _json(env))]
    classes = ort.get("classes")
    if isinstance(classes, list) and classes:
        generated.append(("class_names.txt", _lines(classes)))
    if isinstance(ort.get("keypoints_metadata"), list):
        generated.append(("keypoints_metadata.json", _json(ort["keypoints_metadata"])))
    model_type = {
        "project_task_type": ort.get("type") or "object-detection",
        "model_type": ort.get("modelType") or "",
        "model_id": model_id,
    }
    generated.append(("model_type.json", _json(model_type)))
    return Plan(model_id, PROTOCOL_A, PROTOCOL_A, (RemoteFile("weights.onnx", ort["model"], None),), tuple(generated))


def _json(value: object) -> bytes:
    return (json.dumps(value, indent=1, sort_keys=True) + "\n").encode()


def _lines(values: Sequence[object]) -> bytes:
    return "".join(f"{v}\n" for v in values).encode()
