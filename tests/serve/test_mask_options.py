"""The v1 route takes the mask options as Roboflow's server does, and answers with them."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator

import numpy as np
import pytest

from edge.imageio import read_image
from edge.model import Model
from edge.serve.params import MASK_DECODE_MESSAGE
from edge.tasks.instance_segmentation import InstanceSegmentation
from edge.tasks.params import InferenceParams
from tests.helpers import FIXTURE_MODELS, assert_v1_valid
from tests.serve.helpers import DETECT, IMAGE, Served, request, serve, without_ids

SEGMENT = FIXTURE_MODELS / "shapes-segment.onnx"
BODY = base64.b64encode(IMAGE.read_bytes())
PLAIN = {"Content-Type": "text/plain"}


@pytest.fixture(scope="module")
def device() -> Iterator[Served]:
    run = serve(f"""\
models:
  det: {{path: {DETECT}}}
  seg: {{path: {SEGMENT}}}
http:
  port: 0
""")
    yield run
    run.finish()


def local(params: InferenceParams) -> dict[str, object]:
    with Model.open(SEGMENT) as model:
        return without_ids(model.predict([read_image(IMAGE)], params)[0].result.to_v1())


@pytest.mark.parametrize(
    "query",
    [
        "mask_decode_mode=fast",
        "mask_decode_mode=tradeoff&tradeoff_factor=0.5",
        "response_mask_format=rle",
        "mask_decode_mode=fast&response_mask_format=rle",
    ],
)
def test_the_options_reach_the_decoder(device: Served, query: str) -> None:
    answer = request(f"{device.url}/seg/1?{query}", BODY, PLAIN)
    assert answer.status == 200, answer.body[:200]
    doc = answer.json()
    assert_v1_valid(doc, "instance-segmentation")
    q = dict(pair.split("=") for pair in query.split("&"))
    expected = local(InferenceParams.from_hosted(tradeoff_factor=float(q.pop("tradeoff_factor", 0)), **q))  # type: ignore[arg-type]
    assert without_ids(doc) == expected
    if "rle" in query:
        back = InstanceSegmentation.from_v1(doc)
        assert back.mask_format == "rle" and len(back) >= 3 and back.full_masks().any(axis=(1, 2)).all()


def test_fast_sends_fewer_vertices_than_accurate(device: Served) -> None:
    def vertices(query: str) -> int:
        doc = request(f"{device.url}/seg/1?{query}", BODY, PLAIN).json()
        return sum(len(p["points"]) for p in doc["predictions"])

    assert vertices("mask_decode_mode=fast") < vertices("mask_decode_mode=accurate") / 2


@pytest.mark.parametrize(
    ("model", "query", "status"),
    [
        ("seg", "mask_decode_mode=quick", 400),
        ("seg", "mask_decode_mode=tradeoff&tradeoff_factor=2", 400),
        ("seg", "response_mask_format=png", 422),
        ("det", "response_mask_format=png", 422),
        ("det", "mask_decode_mode=quick", 200),  # not read for detection, as on the server
        ("seg", "mask_decode_mode=accurate&tradeoff_factor=2", 200),  # read in tradeoff mode only
    ],
)
def test_bad_options_answer_as_the_server_does(device: Served, model: str, query: str, status: int) -> None:
    answer = request(f"{device.url}/{model}/1?{query}", BODY, PLAIN)
    assert answer.status == status, answer.body[:200]
    doc = answer.json()
    if status == 400:
        assert doc == {"message": MASK_DECODE_MESSAGE}
    if status == 422:
        assert doc["detail"][0]["loc"] == ["query", "response_mask_format"]
    if status == 200 and model == "det":
        assert np.asarray([p["confidence"] for p in doc["predictions"]]).size >= 3


def test_mask_options_on_a_detection_model_are_ignored_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="edge")
    run = serve(f"""\
models:
  det: {{path: {DETECT}, mask_decode_mode: fast, response_mask_format: rle}}
http:
  port: 0
""")
    try:
        answer = request(f"{run.url}/det/1", BODY, PLAIN)
    finally:
        run.finish()
    assert answer.status == 200 and answer.json()["predictions"]
    assert "model det: the mask options apply to instance segmentation models only; ignored" in caplog.text
