"""The ``latency`` trigger: predict how long a live frame would wait for its local result.

A frame that arrives now waits for the frames queued ahead of it and the ones the model is
already working on, then for its own inference. The model's recent time per frame (its share
of a batch's preprocess, inference and postprocess, as each local result reports it in the v1
``time`` field) prices each of them. The estimate errs high for a pipelined worker (its stages
overlap), which sends a frame to the API a little early rather than late.
"""

from __future__ import annotations

import math
import threading


def predicted_latency(queued_ahead: int, in_flight: int, seconds_per_frame: float, instances: int = 1) -> float:
    """Seconds until a frame queued now has its local result.

    ``queued_ahead``: frames waiting for the model before it (other streams' frames);
    ``in_flight``: frames the model has taken and not yet published; ``seconds_per_frame``:
    the model's recent time per frame (0 while unknown: no prediction, so no trigger);
    ``instances``: how many frames the model works on at once (rounded up: errs high).
    """
    if seconds_per_frame <= 0:
        return 0.0
    rounds = math.ceil((max(0, queued_ahead) + max(0, in_flight)) / max(1, instances))
    return (rounds + 1) * seconds_per_frame


class RecentTime:
    """An exponentially weighted mean of recent per-frame times (about the last 10)."""

    def __init__(self, weight: float = 0.2) -> None:
        self._weight = weight
        self._lock = threading.Lock()
        self._value = 0.0

    def add(self, seconds: float) -> None:
        with self._lock:
            self._value = seconds if self._value == 0.0 else self._value + self._weight * (seconds - self._value)

    @property
    def value(self) -> float:
        with self._lock:
            return self._value
