"""The v1 route ``/{project}/{version}``: read the image, queue it for the model's worker,
answer with the v1 document (or the annotated JPEG), with the hosted API's errors."""

from __future__ import annotations

import base64
import logging
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import cv2
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request
from starlette.responses import Response

from edge.demo.annotate import annotate
from edge.errors import EdgeError
from edge.imagebounds import DEFAULT_MAX_PIXELS
from edge.jsonfast import dumps_bytes
from edge.models.spec import Task
from edge.pipeline.request import RequestRefused
from edge.serve.auth import authorized
from edge.serve.config import DEFAULT_MAX_DECODES, MAX_BODY
from edge.serve.inputs import Image, InputError, from_body, from_url
from edge.serve.limits import DecodeGate
from edge.serve.models import ServedModel
from edge.serve.params import ParamError, RouteParams, parse_params
from edge.serve.submit import Submitter
from edge.serve.urlpolicy import URLS_OFF, UrlPolicy
from edge.tasks.v1 import new_id

log = logging.getLogger("edge.serve")

NOT_FOUND = (
    "Requested Roboflow resource not found. Make sure that workspace, project or model you referred in request exists."
)
UNAUTHORIZED = "Unauthorized access to roboflow API - check API key and make sure the key is valid."
Count = Callable[[str, int], None]  # (model name or "-", status)


@dataclass(frozen=True)
class V1Route:
    keys: frozenset[str]
    models: dict[str, ServedModel]  # by model_id
    submitter: Submitter
    count: Count
    gate: DecodeGate = field(default_factory=lambda: DecodeGate(DEFAULT_MAX_PIXELS, DEFAULT_MAX_DECODES))
    urls: UrlPolicy = URLS_OFF  # off: ?image=URL is refused

    async def __call__(self, request: Request) -> Response:
        model_id = f"{request.path_params['project']}/{request.path_params['version']}"
        served = self.models.get(model_id)
        response = await self._answer(request, served)
        self.count(served.name if served else "-", response.status_code)
        return response

    async def _answer(self, request: Request, served: ServedModel | None) -> Response:
        if not authorized(request, self.keys):
            return message(401, UNAUTHORIZED)  # the key offered is never logged or echoed
        if served is None:
            return message(404, NOT_FOUND)
        try:
            params = parse_params(request.query_params, served.task is Task.INSTANCE_SEGMENTATION)
            self.submitter.admit(served.name)  # busy: 503 before the body is read or decoded
            image = await self._image(request)
            started = time.perf_counter()
            result = await self.submitter.infer(served.name, image, params.inference)
        except ParamError as exc:
            if exc.status != 422:  # the server's own checks answer with a message, not FastAPI's detail
                return message(exc.status, exc.detail)
            detail = [{"loc": ["query", exc.name], "msg": exc.detail, "type": "value_error"}]
            return json_response(422, {"detail": detail})
        except InputError as exc:
            return message(exc.status, str(exc))
        except RequestRefused as exc:
            headers = {"Retry-After": f"{exc.retry_after:g}"} if exc.retry_after else {}
            return message(exc.status, str(exc), headers)
        except EdgeError as exc:  # the model failed on this image
            return message(500, str(exc))
        doc = result.result.to_v1(inference_id=new_id(), time=round(time.perf_counter() - started, 6))
        if params.format == "json":
            return json_response(200, doc)
        jpeg = await run_in_threadpool(_annotated_jpeg, image, doc, params)
        if params.format == "image":
            return Response(jpeg, 200, media_type="image/jpeg")
        # image_and_json: the drawing first, as the hosted API orders its keys
        return json_response(200, {"visualization": base64.b64encode(jpeg).decode("ascii"), **doc})

    async def _image(self, request: Request) -> Image:
        url = request.query_params.get("image")
        if url:  # the body, if any, is ignored, as the hosted API does
            return await self.gate.run(partial(from_url, url, max_pixels=self.gate.max_pixels, policy=self.urls))
        content_type = request.headers.get("content-type")
        if not content_type:
            raise InputError("Content-Type header not provided with request.")
        body = await read_limited(request)
        if content_type.lower().startswith("multipart/form-data"):
            body = await _file_part(request, body)
        return await self.gate.run(partial(from_body, body, self.gate.max_pixels))


async def read_limited(request: Request, limit: int = MAX_BODY) -> bytes:
    """The body, or InputError(413) as soon as it passes ``limit`` (never read whole)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise InputError(f"Request body too large: the limit is {limit // (1024 * 1024)} MB.", 413)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise InputError(f"Request body too large: the limit is {limit // (1024 * 1024)} MB.", 413)
        chunks.append(chunk)
    return b"".join(chunks)


async def _file_part(request: Request, body: bytes) -> bytes:
    async def once() -> AsyncGenerator[bytes, None]:
        yield body

    try:
        form = await MultiPartParser(request.headers, once(), max_files=4, max_fields=64).parse()
    except MultiPartException as exc:
        raise InputError(f"Could not load input image. Cause: the multipart body is malformed: {exc}") from None
    part = form.get("file")
    if not isinstance(part, UploadFile):
        raise InputError("Could not load input image. Cause: the multipart body has no part named 'file'.")
    return await part.read()


def _annotated_jpeg(image: Image, doc: dict[str, Any], params: RouteParams) -> bytes:
    drawn = annotate(image, doc, labels=params.labels, stroke=params.stroke)
    ok, jpeg = cv2.imencode(".jpg", drawn, [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:
        raise EdgeError("OpenCV could not encode the annotated image")
    return bytes(jpeg.tobytes())


def json_response(status: int, doc: Any, headers: dict[str, str] | None = None) -> Response:
    body = dumps_bytes(doc)
    return Response(body, status, headers, media_type="application/json")


def message(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    return json_response(status, {"message": text}, headers)
