"""What a stream runs: its own module, so the pipeline (core.py) and its reload mixin
(changes.py) both import it without importing each other."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from edge.errors import EdgeError
from edge.sources import SourceSettings

if TYPE_CHECKING:
    from edge.tracking.settings import TrackingSettings


@dataclass(frozen=True)
class StreamPlan:
    """A stream and the names of the models that run on each of its frames."""

    source: SourceSettings
    models: tuple[str, ...]
    tracking: TrackingSettings | None = None  # tracking:, zones:, lines: (edge.tracking.config)

    def __post_init__(self) -> None:
        if not self.models:
            raise EdgeError(f"stream {self.source.name}: list at least one model")
        if len(set(self.models)) != len(self.models):
            raise EdgeError(f"stream {self.source.name}: a model is listed twice in {list(self.models)}")
        if self.tracking is not None and self.tracking.model not in self.models:
            raise EdgeError(f"stream {self.source.name}: tracks {self.tracking.model}, which it does not run")

    @property
    def name(self) -> str:
        return self.source.name
