"""Requests through a model's worker, shared with the streams: batched with their frames,
decoded with their own parameters, answered without touching the streams' counts."""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import wait
from pathlib import Path
from typing import Any

import pytest

from edge.imageio import read_image
from edge.model import Model
from edge.pipeline import ModelRunner, Pipeline, StreamPlan
from edge.pipeline.request import InferenceRequest, RequestRefused
from edge.sources import SourceSettings, parse_uri
from edge.tasks.detection import Detections
from edge.tasks.params import InferenceParams
from tests.helpers import FIXTURE_MODELS
from tests.pipeline.helpers import DETECT, DevicePreprocessBackend, MemorySink, runner

IMAGE = read_image(Path(__file__).parents[2] / "examples" / "images" / "shapes.jpg")


def without_ids(doc: dict[str, Any]) -> dict[str, Any]:
    """A v1 document without what differs between two runs on the same image."""
    out = {k: v for k, v in doc.items() if k not in ("inference_id", "time")}
    if isinstance(out.get("predictions"), list):
        out["predictions"] = [{k: v for k, v in p.items() if k != "detection_id"} for p in out["predictions"]]
    return out


def plan(name: str, clip: Path, live: bool) -> StreamPlan:
    return StreamPlan(SourceSettings(name, parse_uri(str(clip)), live=live, realtime=False), ("det",))


def expected(params: InferenceParams) -> Detections:
    with Model.open(DETECT) as model:
        result = model.predict([IMAGE], params)[0].result
    assert isinstance(result, Detections)
    return result


@pytest.mark.parametrize("confidence", [0.2, 0.9])
def test_requests_batch_with_stream_frames_and_decode_with_own_params(short_clip: Path, confidence: float) -> None:
    det, spy = runner(delay=0.01)
    sink = MemorySink()
    pipe = Pipeline([plan("cam", short_clip, live=False)], [det], [sink], requests=8)
    pipe.start()
    params = InferenceParams(confidence=confidence)
    requests = [InferenceRequest.make(IMAGE, params) for _ in range(6)]
    for r in requests:
        pipe.submit("det", r)
    done, _ = wait([r.reply for r in requests], timeout=30)
    assert pipe.wait_idle(30) and pipe.stop(drain=True)
    assert len(done) == 6
    want = expected(params)
    for r in requests:
        got = r.reply.result().result
        assert isinstance(got, Detections)
        assert without_ids(got.to_v1()) == without_ids(want.to_v1())
    assert max(spy.batches) > 1  # requests rode in batches with the stream's frames or each other
    routes = pipe.routes("cam")["det"]
    assert sorted(sink.frames("cam", "det")) == list(range(60))  # the stream lost nothing
    assert routes.offered == routes.inferred == 60 and routes.dropped == routes.errors == 0
    assert all(m.stream == "cam" for m in sink.messages)  # requests are answered, never published
    assert pipe.batch_stats()["det"].images == 66


def test_a_full_queue_refuses_and_a_queued_request_can_be_withdrawn() -> None:
    det, _ = runner(delay=0.3)
    pipe = Pipeline([], [det], [], requests=1)
    pipe.start()
    first, second, third = (InferenceRequest.make(IMAGE, InferenceParams()) for _ in range(3))
    pipe.submit("det", first)
    deadline = time.monotonic() + 10
    while pipe.requests_waiting()["det"]:  # until the worker takes it
        assert time.monotonic() < deadline
        time.sleep(0.01)
    pipe.submit("det", second)  # waits in the queue of one
    with pytest.raises(RequestRefused) as refused:
        pipe.submit("det", third)
    assert refused.value.status == 503 and refused.value.retry_after
    assert pipe.withdraw("det", second)
    assert not pipe.withdraw("det", first)  # the worker has it
    assert first.reply.result(timeout=10).batch == 1
    pipe.stop()


def test_unknown_pending_and_failed_models_are_refused_with_their_status() -> None:
    det, _ = runner()
    pipe = Pipeline([], [det], [], failed_models={"gone": "no such file"}, pending={"trt": "building: 40%"}, requests=4)
    pipe.start()
    request = InferenceRequest.make(IMAGE, InferenceParams())
    with pytest.raises(RequestRefused) as pending:
        pipe.submit("trt", request)
    assert pending.value.status == 503 and "building: 40%" in str(pending.value)
    with pytest.raises(RequestRefused) as failed:
        pipe.submit("gone", request)
    assert failed.value.status == 503 and "no such file" in str(failed.value)
    pipe.stop()


def test_a_model_failing_on_a_request_answers_it_with_the_error() -> None:
    seg = FIXTURE_MODELS / "shapes-segment.onnx"
    det, _ = runner(path=seg, fail_every=1)
    pipe = Pipeline([], [det], [], requests=2)
    pipe.start()
    request = InferenceRequest.make(IMAGE, InferenceParams())
    pipe.submit("det", request)
    with pytest.raises(Exception, match="device lost"):
        request.reply.result(timeout=10)
    pipe.stop()


def test_requests_on_a_device_preprocessing_fixed_batch_model_mix_params() -> None:
    model = Model.open(DETECT)
    device = DevicePreprocessBackend(model.backend)
    det = ModelRunner("det", Model(dataclasses.replace(model.spec, batch=4), device))  # short batches padded
    pipe = Pipeline([], [det], [], requests=8)
    strict, loose = InferenceParams(confidence=0.9), InferenceParams(confidence=0.2)
    requests = [InferenceRequest.make(IMAGE, strict if i % 2 else loose) for i in range(6)]
    for r in requests:  # queued before the worker starts: one batch of 4 mixed, then 2 padded to 4
        pipe.submit("det", r)
    pipe.start()
    wait([r.reply for r in requests], timeout=30)
    pipe.stop()
    assert device.image_batches == [4, 4]
    assert [r.reply.result().batch for r in requests] == [4, 4, 4, 4, 2, 2]
    for r in requests:
        want = expected(r.params)
        assert without_ids(r.reply.result().result.to_v1()) == without_ids(want.to_v1())
