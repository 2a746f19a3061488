"""Streams in, results out: capture threads, per-model inference workers, fan-out to sinks."""

from edge.pipeline.core import Pipeline, StreamPlan
from edge.pipeline.fanout import Fanout
from edge.pipeline.stats import RouteCounts, StreamHealth
from edge.pipeline.worker import ModelRunner

__all__ = ["Fanout", "ModelRunner", "Pipeline", "RouteCounts", "StreamHealth", "StreamPlan"]
