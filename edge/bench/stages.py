"""Where one stream's time goes, stage by stage, on one thread: the split ``edge bench`` prints.

The pipeline's own stage timers (capture, preprocess, infer, postprocess) are wall time on
overlapping threads; this pass runs the same work one step after the other and times each:
``decode`` (reading a video frame), ``preprocess`` and ``infer`` as wall time (ONNX Runtime
and the video decoder use their own threads), then, as CPU time of the one thread that runs
them (steadier than wall time on a shared machine): ``results`` (thresholds and NMS),
``masks`` (instance segmentation: each instance's box-local mask; 0 for other tasks),
``polygons`` (tracing each mask's outline), ``v1`` (the v1 document's dicts, without the
polygons it traces again) and ``json`` (``edge.jsonfast.dumps_bytes``, the encoder the
publisher and the HTTP server run). ``results`` + ``masks`` is one ``decode_batch``; the
split comes from running the thresholds and NMS once more on their own. A result keeps its
traced outlines, so ``to_v1`` after ``polygons`` does not trace them again (where a result
did not, ``v1`` is ``to_v1``'s time less ``polygons``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STAGES = ("decode", "preprocess", "infer", "results", "masks", "polygons", "v1", "json")
CPU_STAGES = ("results", "masks", "polygons", "v1", "json")  # outside inference, one thread


@dataclass(frozen=True)
class StageProfile:
    """Mean per frame: milliseconds of each stage, bytes of the v1 JSON, instances."""

    ms: dict[str, float]
    json_bytes: float
    instances: float
    frames: int

    @property
    def outside_inference_ms(self) -> float:
        """CPU of the stages after inference (results, masks, polygons, v1, JSON)."""
        return sum(self.ms[k] for k in CPU_STAGES)


def stage_profile(model: Any, clip: Path, frames: int, params: Any = None) -> StageProfile:
    """The stages over the first ``frames`` frames of ``clip`` (``params``: InferenceParams)."""
    import cv2
    import numpy as np

    from edge.jsonfast import dumps_bytes
    from edge.models.spec import Task
    from edge.preprocess import preprocess
    from edge.tasks.decode import decode_batch
    from edge.tasks.detection import select
    from edge.tasks.layout import check_output_shapes
    from edge.tasks.params import InferenceParams

    names = [o.name for o in model.backend.outputs]
    params = params or InferenceParams()
    segments = model.spec.task is Task.INSTANCE_SEGMENTATION
    totals = dict.fromkeys(STAGES, 0.0)
    cap = cv2.VideoCapture(str(clip))
    n, size, instances = 0, 0, 0
    clock, cpu = time.perf_counter, time.thread_time
    try:
        while n < frames:
            t0 = clock()
            ok, frame = cap.read()
            if not ok:
                break
            t1 = clock()
            tensor, geometries = preprocess([np.asarray(frame, dtype=np.uint8)], model.spec.preprocess)
            t2 = clock()
            outputs = model.backend.infer(tensor)
            t3 = clock()
            c0 = cpu()
            result = decode_batch(model.spec, outputs, geometries, params, names)[0]
            c1 = cpu()
            polygons = getattr(result, "polygons", None)
            if callable(polygons):
                polygons()
            c2 = cpu() if callable(polygons) else c1  # no polygons to trace: 0
            retraced = callable(polygons) and "_polygons" not in vars(result)  # to_v1 traces them again
            doc = result.to_v1(inference_id="bench", time=0.0)
            c3 = cpu()
            size += len(dumps_bytes(doc))
            c4 = cpu()
            select_s = 0.0
            if segments:  # the thresholds and NMS alone, to split decode_batch into results + masks
                layout = check_output_shapes(model.spec, [(k, tuple(o.shape)) for k, o in zip(names, outputs)])
                s0 = cpu()
                select(np.asarray(outputs[layout.main])[0], len(model.spec.class_names), params)
                select_s = min(cpu() - s0, c1 - c0)
            instances += len(getattr(result, "confidence", ()))
            decode_s = c1 - c0
            step = {
                "decode": t1 - t0,
                "preprocess": t2 - t1,
                "infer": t3 - t2,
                "results": select_s if segments else decode_s,
                "masks": decode_s - select_s if segments else 0.0,
                "polygons": c2 - c1,
                "v1": c3 - c2 - (c2 - c1 if retraced else 0.0),
                "json": c4 - c3,
            }
            for k, dt in step.items():
                totals[k] += dt
            n += 1
    finally:
        cap.release()
    per = max(1, n)
    ms = {k: round(max(0.0, v) / per * 1000, 3) for k, v in totals.items()}
    return StageProfile(ms, size / per, instances / per, n)
