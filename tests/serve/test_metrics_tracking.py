"""/metrics carries each tracked stream's tracker time and active tracks (from the stats snapshot)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from edge.messages import StatsSnapshot
from edge.pipeline.batches import BatchSnapshot
from edge.serve.metrics import PipelineCollector

TRACKING = {"update_s_mean": 0.0004, "update_s_last": 0.0006, "active_tracks": 3, "tracked": 120, "late": 2}


class Source:
    def snapshot(self) -> StatsSnapshot:
        return StatsSnapshot(time.time(), {}, {}, tracking={"door": dict(TRACKING)})

    def batch_stats(self) -> dict[str, BatchSnapshot]:
        return {}

    def hosted_requests(self) -> dict[tuple[str, str], int]:
        return {}


def test_tracking_figures_per_stream() -> None:
    registry = CollectorRegistry()
    registry.register(PipelineCollector(Source(), lambda: None))
    samples = {
        s.name: (s.labels, s.value)
        for f in text_string_to_metric_families(generate_latest(registry).decode())
        for s in f.samples
        if s.name.startswith("edge_tracking")
    }
    assert samples == {
        "edge_tracking_update_seconds": ({"stream": "door"}, 0.0004),
        "edge_tracking_update_seconds_last": ({"stream": "door"}, 0.0006),
        "edge_tracking_active_tracks": ({"stream": "door"}, 3.0),
        "edge_tracking_results_total": ({"stream": "door"}, 120.0),
        "edge_tracking_late_total": ({"stream": "door"}, 2.0),
    }


def test_the_stats_payload_carries_them() -> None:
    assert Source().snapshot().to_payload()["tracking"] == {"door": TRACKING}
    assert "tracking" not in StatsSnapshot(0.0, {}, {}).to_payload()
