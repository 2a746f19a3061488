"""Hosted-fallback requests by model and HTTP status, for metrics.

The fallback reports an answer as a result and a failure as a message (``hosted: ... HTTP
503: ...``); the status is read back from that message, ``error`` when there was no answer
(a timeout, a refused connection) or the answer was not a v1 document.
"""

from __future__ import annotations

import re
import threading
from collections import Counter

_STATUS = re.compile(r"\bHTTP (\d{3})\b")


class HostedOutcomes:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()

    def answered(self, model: str) -> None:
        with self._lock:
            self._counts[(model, "200")] += 1

    def failed(self, model: str, message: str, n: int = 1) -> None:
        found = _STATUS.search(message)
        with self._lock:
            self._counts[(model, found.group(1) if found else "error")] += n

    def snapshot(self) -> dict[tuple[str, str], int]:
        with self._lock:
            return dict(self._counts)
