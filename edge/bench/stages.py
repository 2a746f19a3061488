"""Where one stream's time goes, stage by stage, on one thread: the split ``edge bench`` prints.

The pipeline's own stage timers (capture, preprocess, infer, postprocess) are wall time on
overlapping threads; this pass runs the same work one step after the other and times each:
``decode`` (reading a video frame), ``preprocess``, ``infer``, ``results`` (thresholds, NMS
and, for instance segmentation, the masks), ``polygons`` (tracing each mask's outline),
``v1`` (the v1 document's dicts, without the polygons it traces again) and ``json``
(``edge.jsonfast.dumps_bytes``, the encoder the publisher and the HTTP server run).
Polygons are traced twice here (once on their own, once inside ``to_v1``), so ``v1`` is
``to_v1``'s time less ``polygons``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

STAGES = ("decode", "preprocess", "infer", "results", "polygons", "v1", "json")


def stage_profile(model: Any, clip: Path, frames: int) -> dict[str, float]:
    """Mean milliseconds per frame of each stage over the first ``frames`` frames of ``clip``."""
    import cv2
    import numpy as np

    from edge.jsonfast import dumps_bytes
    from edge.preprocess import preprocess
    from edge.tasks.decode import decode_batch
    from edge.tasks.params import InferenceParams

    names = [o.name for o in model.backend.outputs]
    params = InferenceParams()
    totals = dict.fromkeys(STAGES, 0.0)
    cap = cv2.VideoCapture(str(clip))
    n = 0
    try:
        while n < frames:
            t0 = time.perf_counter()
            ok, frame = cap.read()
            if not ok:
                break
            t1 = time.perf_counter()
            tensor, geometries = preprocess([np.asarray(frame, dtype=np.uint8)], model.spec.preprocess)
            t2 = time.perf_counter()
            outputs = model.backend.infer(tensor)
            t3 = time.perf_counter()
            result = decode_batch(model.spec, outputs, geometries, params, names)[0]
            t4 = time.perf_counter()
            polygons = getattr(result, "polygons", None)
            if callable(polygons):
                polygons()
            t5 = time.perf_counter() if callable(polygons) else t4  # no polygons to trace: 0
            doc = result.to_v1(inference_id="bench", time=0.0)
            t6 = time.perf_counter()
            dumps_bytes(doc)
            t7 = time.perf_counter()
            for k, dt in zip(STAGES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5 - (t5 - t4), t7 - t6)):
                totals[k] += dt
            n += 1
    finally:
        cap.release()
    return {k: round(max(0.0, v) / max(1, n) * 1000, 3) for k, v in totals.items()}
