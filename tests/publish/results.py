"""Result messages for the publisher tests, shaped like a detector's real v1 output."""

from __future__ import annotations

from edge.messages import ResultMessage, ResultSource

CLASSES = ("circle", "square", "triangle")


def detection(stream: str, model: str, frame: int, objects: int = 2, pad: int = 0) -> ResultMessage:
    """A detection result; ``pad`` adds that many bytes of filler to size payloads for spool tests."""
    predictions = [
        {
            "x": 100.0 + i,
            "y": 50.0 + frame % 7,
            "width": 40.0,
            "height": 30.0,
            "confidence": round(0.9 - 0.05 * i, 4),
            "class": CLASSES[i % len(CLASSES)],
            "class_id": i % len(CLASSES),
            "detection_id": f"{stream}-{model}-{frame}-{i}",
        }
        for i in range(objects)
    ]
    v1 = {"time": 0.012, "image": {"width": 640, "height": 480}, "predictions": predictions}
    if pad:
        v1["inference_id"] = "x" * pad
    return ResultMessage(
        stream=stream,
        model=model,
        frame=frame,
        timestamp=1_700_000_000.0 + frame / 30,
        source=ResultSource.LOCAL,
        v1=v1,
        latency={"capture": 0.001, "queue": 0.0004, "preprocess": 0.002, "infer": 0.008, "postprocess": 0.001},
    )
