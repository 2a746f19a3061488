"""Building the Home Assistant sink from a daemon config (the daemon's one call into this package)."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING

from edge.homeassistant.discovery import StreamEntities
from edge.homeassistant.sink import HomeAssistantSink, Publisher
from edge.messages import Sink
from edge.models.spec import ModelSpec
from edge.pipeline.latest import LatestFrames

if TYPE_CHECKING:
    from edge.config import EdgeConfig


def stream_entities(config: EdgeConfig, specs: Mapping[str, ModelSpec]) -> list[StreamEntities]:
    """Each stream with its models' classes (those whose spec is known) and, when the stream is
    tracked (``StreamPlan.tracking``, where that exists), its zone and line names."""
    out = []
    for plan in config.streams:
        classes = tuple(dict.fromkeys(c for m in plan.models if m in specs for c in specs[m].class_names))
        tracking = getattr(plan, "tracking", None)
        zones = tuple(getattr(tracking, "zones", {}) or ())
        lines = tuple(getattr(tracking, "lines", {}) or ())
        out.append(StreamEntities(plan.name, classes, zones, lines))
    return out


def with_home_assistant(
    sinks: list[Sink], config: EdgeConfig, specs: Mapping[str, ModelSpec], frames: Callable[[], LatestFrames | None]
) -> list[Sink]:
    """``sinks`` with the Home Assistant sink first (so it closes before the MQTT sink it sends
    through), sharing the MQTT sink's connection; ``sinks`` as they are when discovery is off."""
    from edge.publish.mqtt import MqttSink

    mqtt = next((s for s in sinks if isinstance(s, MqttSink)), None)
    ha = None if mqtt is None else home_assistant_sink(config, mqtt, specs, frames)
    if mqtt is None or ha is None:
        return sinks
    mqtt.add_companion(ha)
    return [ha, *sinks]


def home_assistant_sink(
    config: EdgeConfig,
    publisher: Publisher,
    specs: Mapping[str, ModelSpec],
    frames: Callable[[], LatestFrames | None],
) -> HomeAssistantSink | None:
    """The sink for ``config`` (None when discovery is off), publishing through ``publisher``."""
    if config.homeassistant is None or config.mqtt is None:
        return None
    return HomeAssistantSink(
        config.homeassistant, publisher, config.mqtt.topics, stream_entities(config, specs), frames
    )


def reconfigure_sinks(
    sinks: Sequence[Sink], config: EdgeConfig, specs: Mapping[str, ModelSpec], removed: Collection[str]
) -> None:
    """After a reload: tell the Home Assistant sink (if any) the new streams and those removed."""
    for sink in sinks:
        if isinstance(sink, HomeAssistantSink):
            sink.reconfigure(stream_entities(config, specs), removed)
