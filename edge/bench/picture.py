"""What one picture of ``latest.jpg`` / the MJPEG stream costs: drawing and JPEG encoding.

Frames of the bench clip are scaled to 1280x720 and run through the model, so the drawing has
the model's real detections (or masks, keypoints); each is then drawn and encoded by
:func:`edge.web.picture.render_jpeg`, the renderer the device endpoints use, at their default
quality. ``jpeg`` is the encode alone (the bare frame); ``annotate`` is the rest.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

SIZE = (1280, 720)


def picture_cost(model: Any, clip: Path, frames: int) -> dict[str, float]:
    """Mean milliseconds per 720p frame: ``annotate``, ``jpeg``, their ``total``; and ``detections``."""
    import cv2
    import numpy as np

    from edge.messages import ResultMessage, ResultSource
    from edge.pipeline.latest import LatestFrame
    from edge.web.params import PictureParams
    from edge.web.picture import render_jpeg

    params = PictureParams()
    totals = {"total": 0.0, "jpeg": 0.0}
    detections = 0
    cap = cv2.VideoCapture(str(clip))
    n = 0
    try:
        while n < frames:
            ok, frame = cap.read()
            if not ok:
                break
            image = np.asarray(cv2.resize(frame, SIZE, interpolation=cv2.INTER_LINEAR), dtype=np.uint8)
            doc = model.predict([image])[0].to_v1()
            preds = doc.get("predictions")
            detections += len(preds) if isinstance(preds, list) else 0
            message = ResultMessage("bench", "m", n, 0.0, ResultSource.LOCAL, doc)
            held = LatestFrame("bench", n, 0.0, image, {"m": message}, ("m",))
            t0 = time.perf_counter()
            render_jpeg(held, params)
            t1 = time.perf_counter()
            cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, params.quality])
            t2 = time.perf_counter()
            totals["total"] += t1 - t0
            totals["jpeg"] += t2 - t1
            n += 1
    finally:
        cap.release()
    per = max(1, n)
    total, jpeg = totals["total"] / per * 1000, totals["jpeg"] / per * 1000
    return {
        "annotate": round(max(0.0, total - jpeg), 3),
        "jpeg": round(jpeg, 3),
        "total": round(total, 3),
        "detections": round(detections / per, 2),
    }
