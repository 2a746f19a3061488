"""A stand-in for the Roboflow API's model download routes, run as a real HTTP server on localhost.

* ``GET /models/v1/external/weights?modelId=p/v`` (protocol B, ``Authorization: Bearer KEY``):
  one trusted ONNX package whose files carry their MD5, or, for a model served only by the
  legacy route, a Torch package and no ONNX one;
* ``GET /ort/p/v?nocache=true&device=..&dynamic=true&api_key=KEY`` (protocol A);
* ``GET /files/<model>/<name>?sig=..``: the "signed" download URLs both answers point to.

Packages are made from fixture ONNX models, with the class names, input size and keypoints
read from their Ultralytics metadata. ``corrupt`` names files served with altered bytes (their
MD5 no longer matches), ``cut`` files whose download stops half-way, ``fail`` queues statuses
to answer with first, ``seen`` records each request's path and parameters without the key.

Run ``python -m tests.roboflow_server`` to try ``edge pull`` by hand against it.
"""

from __future__ import annotations

import hashlib
import json
import threading
import urllib.parse
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from edge.models import load_spec
from edge.models.spec import ModelSpec, Task
from edge.tasks.points import plain
from tests.local_http import LocalServer

PROTOCOLS = frozenset({"B", "A"})
_MODEL_TYPE = {
    Task.OBJECT_DETECTION: "yolov8n",
    Task.INSTANCE_SEGMENTATION: "yolov8n-seg",
    Task.KEYPOINT_DETECTION: "yolov8n-pose",
}


@dataclass(frozen=True)
class Served:
    onnx: Path
    protocols: frozenset[str] = PROTOCOLS  # the routes that know the model
    class_names: tuple[str, ...] | None = None  # None: the ONNX file's own


@dataclass
class Request:
    path: str
    params: dict[str, str]  # without api_key
    bearer: bool  # an Authorization header was sent


@dataclass
class WeightsStandIn:
    models: dict[str, Served]  # "project/version" -> what is served
    api_key: str = "rf-test-key-4242"
    corrupt: set[str] = field(default_factory=set)
    cut: set[str] = field(default_factory=set)  # files whose download stops half-way
    forbidden: set[str] = field(default_factory=set)  # model ids answered with 403
    fail: deque[int] = field(default_factory=deque)
    seen: list[Request] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.files: dict[str, dict[str, bytes]] = {}  # model id -> package files
        self.specs: dict[str, ModelSpec] = {}
        for model_id, served in self.models.items():
            self.specs[model_id] = spec = load_spec(served.onnx)
            self.files[model_id] = package_files(spec, served)
        self._lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                stand_in._handle(self)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = LocalServer(Handler)
        self.url = self._server.url

    def close(self) -> None:
        self._server.close()

    def paths(self) -> list[str]:
        return [r.path for r in self.seen]

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        parsed = urllib.parse.urlsplit(h.path)
        params = dict(urllib.parse.parse_qsl(parsed.query))
        with self._lock:
            self.seen.append(
                Request(parsed.path, {k: v for k, v in params.items() if k != "api_key"}, "Authorization" in h.headers)
            )
            status = self.fail.popleft() if self.fail else 200
        if status != 200:
            return _reply(h, status, {"message": f"stand-in failure {status}"})
        if parsed.path.startswith("/files/"):
            return self._file(h, parsed.path)
        if parsed.path == "/models/v1/external/weights":
            key = h.headers.get("Authorization", "").removeprefix("Bearer ")
            return self._weights(h, key, params.get("modelId", ""))
        if parsed.path.startswith("/ort/"):
            return self._ort(h, params.get("api_key", ""), parsed.path.removeprefix("/ort/"))
        _reply(h, 404, {"message": "Not Found"})

    def _check(self, h: BaseHTTPRequestHandler, key: str, model_id: str, protocol: str) -> bool:
        if key != self.api_key:
            _reply(h, 401, {"error": {"message": "This API key does not exist (or has been revoked)."}})
        elif model_id in self.forbidden:
            _reply(h, 403, {"error": {"message": "Forbidden"}})
        elif model_id not in self.models or (protocol == "A" and "A" not in self.models[model_id].protocols):
            _reply(h, 404, {"error": {"message": f"Model {model_id} not found"}})
        else:
            return True
        return False

    def _link(self, model_id: str, name: str) -> str:
        return f"{self.url}/files/{urllib.parse.quote(model_id, safe='')}/{name}?sig=abc123"

    def _weights(self, h: BaseHTTPRequestHandler, key: str, model_id: str) -> None:
        if not self._check(h, key, model_id, "B"):
            return
        spec = self.specs[model_id]
        onnx_package = {
            "type": "external-model-package-v1",
            "packageId": "pkg-" + hashlib.md5(model_id.encode()).hexdigest()[:8],
            "trustedSource": True,
            "packageManifest": {
                "type": "onnx-model-package-v1",
                "backendType": "onnx",
                "quantization": "fp32",
                "opset": 17,
                "dynamicBatchSize": True,
            },
            "packageFiles": [
                {
                    "fileHandle": name,
                    "downloadUrl": self._link(model_id, name),
                    "md5Hash": hashlib.md5(data).hexdigest(),
                }
                for name, data in self.files[model_id].items()
                if name in ("weights.onnx", "class_names.txt", "inference_config.json", "keypoints_metadata.json")
            ],
        }
        torch_package = {
            "type": "external-model-package-v1",
            "packageId": "torch-1",
            "trustedSource": True,
            "packageManifest": {"type": "torch-model-package-v1", "backendType": "torch", "quantization": "fp32"},
            "packageFiles": [],
        }
        packages = [onnx_package, torch_package] if "B" in self.models[model_id].protocols else [torch_package]
        meta = {
            "type": "external-model-metadata-v1",
            "modelId": model_id,
            "modelArchitecture": "yolov8",
            "modelVariant": "yolov8-n",
            "taskType": spec.task.value,
            "nextPage": None,
            "modelPackages": packages,
        }
        _reply(h, 200, {"modelMetadata": meta})

    def _ort(self, h: BaseHTTPRequestHandler, key: str, model_id: str) -> None:
        if not self._check(h, key, model_id, "A"):
            return
        spec = self.specs[model_id]
        names = self.files[model_id]["class_names.txt"].decode().split()
        ort: dict[str, Any] = {
            "name": model_id.split("/")[0],
            "type": spec.task.value,
            "modelType": _MODEL_TYPE.get(spec.task, "yolov8n"),
            "classes": names,
            "colors": {n: "#FF8000" for n in names},
            "model": self._link(model_id, "weights.onnx"),
            "environment": self._link(model_id, "environment.json"),
        }
        if "keypoints_metadata.json" in self.files[model_id]:
            ort["keypoints_metadata"] = json.loads(self.files[model_id]["keypoints_metadata.json"])
        _reply(h, 200, {"ort": ort})

    def _file(self, h: BaseHTTPRequestHandler, path: str) -> None:
        _, _, model, name = path.split("/", 3)
        data = self.files.get(urllib.parse.unquote(model), {}).get(name)
        if data is None:
            return _reply(h, 404, {"message": "NoSuchKey"})
        if name in self.corrupt:
            data = data[:-64] + bytes(64)
        h.send_response(200)
        h.send_header("Content-Type", "application/octet-stream")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data[: len(data) // 2] if name in self.cut else data)
        h.close_connection = True


def package_files(spec: ModelSpec, served: Served) -> dict[str, bytes]:
    """The files of both package layouts for a fixture model (Ultralytics preprocessing)."""
    names = served.class_names or spec.class_names
    pre = spec.preprocess
    config = {
        "image_pre_processing": {"auto-orient": {"enabled": True}},
        "network_input": {
            "training_input_size": {"height": pre.height, "width": pre.width},
            "dynamic_spatial_size_supported": False,
            "color_mode": "rgb",
            "resize_mode": "letterbox",
            "padding_value": 114,
            "input_channels": 3,
            "scaling_factor": 255,
            "normalization": None,
        },
        "forward_pass": {"max_dynamic_batch_size": 8},
        "post_processing": {"type": "nms", "fused": False},
    }
    resize = {"enabled": True, "width": pre.width, "height": pre.height, "format": "Fit (grey edges) in"}
    environment = {
        "PREPROCESSING": json.dumps({"auto-orient": {"enabled": True}, "resize": resize}),
        "CLASS_MAP": {str(i): n for i, n in enumerate(names)},
        "MULTICLASS": False,
    }
    files = {
        "weights.onnx": served.onnx.read_bytes(),
        "class_names.txt": "".join(f"{n}\n" for n in names).encode(),
        "inference_config.json": json.dumps(config).encode(),
        "environment.json": json.dumps(environment).encode(),
    }
    if spec.keypoints:
        meta = [
            {
                "object_class_id": c,
                "keypoints": {str(i): n for i, n in enumerate(k.names)},
                "edges": [{"from": a, "to": b} for a, b in k.edges],
            }
            for c, k in enumerate(spec.keypoints)
        ]
        files["keypoints_metadata.json"] = json.dumps(meta).encode()
    return files


def _reply(h: BaseHTTPRequestHandler, status: int, doc: dict[str, Any]) -> None:
    data = json.dumps(plain(doc)).encode()
    h.send_response(status)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(data)))
    h.end_headers()
    h.wfile.write(data)


def main() -> None:
    from tests.helpers import FIXTURE_MODELS

    server = WeightsStandIn(
        {
            "shapes-demo/1": Served(FIXTURE_MODELS / "shapes-detect.onnx"),
            "shapes-pose/2": Served(FIXTURE_MODELS / "shapes-pose.onnx"),
            "shapes-legacy/1": Served(FIXTURE_MODELS / "shapes-detect.onnx", frozenset({"A"})),
        }
    )
    print(f"Roboflow API stand-in at {server.url} (key {server.api_key}); models: {', '.join(server.models)}")
    print(f"  ROBOFLOW_API_KEY={server.api_key} edge pull shapes-demo/1 --api-url {server.url} --dir /tmp/edge-models")
    print("Ctrl-C stops it.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.close()


if __name__ == "__main__":
    main()
