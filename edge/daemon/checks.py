"""What ``edge validate`` checks beyond the config's shape: models load, inputs are there."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping
from pathlib import Path

from edge.config import EdgeConfig, locate
from edge.errors import EdgeError
from edge.models import ModelSpec, load_spec
from edge.pipeline.plan import StreamPlan
from edge.sources import SourceKind

log = logging.getLogger("edge.daemon")


def check_runtime(config: EdgeConfig) -> tuple[list[str], list[str]]:
    """(errors, warnings). A model that cannot be read is an error; a camera that is not there
    now is a warning: the daemon runs the other streams meanwhile. (A missing or unreadable
    video file is already an error of ``load_config(..., check_files=True)``.)"""
    errors: list[str] = []
    warnings: list[str] = []
    specs: dict[str, ModelSpec] = {}
    for m in config.models.values():
        if m.model_id is not None and m.roboflow is not None and m.roboflow.cache.read(m.model_id) is None:
            warnings.append(f"models.{m.name}.model_id: {m.model_id} is not pulled yet; the daemon pulls it at start")
        else:
            try:
                specs[m.name] = load_spec(m.path)
            except EdgeError as exc:
                errors.append(f"models.{m.name}.{'path' if m.model_id is None else 'model_id'}: {exc}")
        if m.hosted is not None:
            try:
                m.hosted.api_key.resolve()  # read, never printed
            except EdgeError as exc:
                warnings.append(f"{exc} (the model runs without its hosted fallback until it is)")
    for plan in config.streams:
        uri = plan.source.uri
        if uri.kind is SourceKind.V4L2 and uri.target.startswith("/dev/") and not Path(uri.target).exists():
            warnings.append(f"streams.{plan.name}.uri: no camera at {uri.target} now (the stream retries)")
    errors.extend(locate(config.path, tracking_problems(config, specs)))
    return errors, warnings


def tracking_problems(config: EdgeConfig, specs: Mapping[str, ModelSpec]) -> list[str]:
    """What the tracked models cannot do for their streams' tracking settings (task, classes)."""
    from edge.tracking.config import check_model

    problems: list[str] = []
    for plan in config.streams:
        spec = specs.get(plan.tracking.model) if plan.tracking else None
        if plan.tracking is not None and spec is not None:
            where = f"streams.{plan.name}"
            problems += check_model(plan.tracking, where, spec.task.value, spec.class_names)
    return problems


def untrackable_dropped(config: EdgeConfig, specs: Mapping[str, ModelSpec]) -> tuple[StreamPlan, ...]:
    """The streams to run: one whose tracked model cannot be tracked as configured (known only
    once a pulled model is read, at start) runs untracked, with one error line saying why."""
    bad: dict[str, str] = {}
    for line in tracking_problems(config, specs):
        bad.setdefault(line.split(".", 2)[1], line)
    for line in locate(config.path, list(bad.values())):
        log.error("%s; the stream runs without tracking", line)
    return tuple(dataclasses.replace(p, tracking=None) if p.name in bad else p for p in config.streams)
