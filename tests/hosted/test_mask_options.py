"""The mask options travel to the hosted API and RLE answers come back in frame pixels."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import pytest

from edge.hosted.client import HostedClient, mask_query
from edge.model import Model
from edge.tasks.instance_segmentation import InstanceSegmentation
from edge.tasks.params import InferenceParams
from tests.helpers import FIXTURE_MODELS, assert_v1_valid
from tests.hosted_server import HostedStandIn

EXAMPLE = cv2.imread(str(FIXTURE_MODELS.parents[2] / "examples" / "images" / "shapes.jpg"))
SEGMENT = FIXTURE_MODELS / "shapes-segment.onnx"


@pytest.fixture(scope="module")
def server() -> Iterator[HostedStandIn]:
    s = HostedStandIn({"shapes-seg/2": SEGMENT})
    yield s
    s.close()


@pytest.mark.parametrize(
    ("given", "on_the_wire"),
    [
        ({}, {}),  # the server's defaults are not sent
        ({"mask_decode_mode": "fast"}, {"mask_decode_mode": "fast"}),
        (
            {"mask_decode_mode": "tradeoff", "tradeoff_factor": 0.25},
            {"mask_decode_mode": "tradeoff", "tradeoff_factor": "0.25"},
        ),
        ({"response_mask_format": "rle"}, {"response_mask_format": "rle"}),
    ],
)
def test_the_options_are_on_the_wire(
    server: HostedStandIn, given: dict[str, object], on_the_wire: dict[str, str]
) -> None:
    params = InferenceParams.from_hosted(**given)  # type: ignore[arg-type]
    assert mask_query(params) == {k: str(v) for k, v in on_the_wire.items()}
    HostedClient(server.url, "shapes-seg/2", "test-key-123").infer(EXAMPLE, params)
    seen = server.seen[-1].params
    assert {k: v for k, v in seen.items() if k in ("mask_decode_mode", "tradeoff_factor", "response_mask_format")} == (
        on_the_wire
    )


@pytest.mark.parametrize("upload", [None, (320, 320)])
def test_an_rle_answer_is_in_frame_pixels_and_matches_the_local_one(
    server: HostedStandIn, upload: tuple[int, int] | None
) -> None:
    params = InferenceParams(confidence=0.5, mask_decode_mode="fast", response_mask_format="rle")
    doc = HostedClient(server.url, "shapes-seg/2", "test-key-123", upload_size=upload).infer(EXAMPLE, params)
    assert_v1_valid(doc, "instance-segmentation")
    assert doc["image"] == {"width": 640, "height": 480}
    assert all(p["mask_format"] == "rle" and p["rle"]["size"] == [480, 640] for p in doc["predictions"])
    hosted = InstanceSegmentation.from_v1(doc)
    with Model.open(SEGMENT) as model:
        local = model.predict([EXAMPLE], params)[0].result
    assert isinstance(local, InstanceSegmentation) and len(hosted) == len(local) >= 3
    a, b = hosted.full_masks(), local.full_masks()
    # Each local mask against its best hosted one (a smaller upload may reorder close scores).
    ious = [max((x & y).sum() / (x | y).sum() for x in a) for y in b]
    # The same frame (JPEG aside); at half the size the masks come back scaled up twice.
    assert min(ious) >= (0.95 if upload is None else 0.7), ious
