"""What the daemon does with Roboflow models at start: pull them, and compare class lists.

A model named by ``model_id`` is pulled (or taken from the cache) before it opens, so a
device without network starts from what it has. A model whose hosted fallback answers with
another Roboflow model gets its class names compared with that model's: the hosted answers
name classes by the hosted model's list, so a difference would mix two vocabularies on one
topic. The comparison reads the hosted model's package metadata from the cache, or, with a
``roboflow:`` section, from the API (class names only; no weights are downloaded).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

from edge.errors import first_line
from edge.publish.fields import ConfigError
from edge.roboflow.client import PullError, RoboflowApi
from edge.roboflow.config import RoboflowConfig
from edge.roboflow.protocols import resolve
from edge.roboflow.pull import pull

log = logging.getLogger("edge.roboflow")


def ensure_package(name: str, model_id: str, roboflow: RoboflowConfig) -> Path:
    """The package directory for ``model_id``: pulled now, or cached. Raises a one-line EdgeError."""
    cache = roboflow.cache

    def api() -> RoboflowApi:  # the key is read only when the API is asked
        return RoboflowApi(roboflow.api_url, roboflow.api_key.resolve())

    try:
        result = pull(model_id, cache, api, key_hint=roboflow.key_hint())
    except ConfigError as exc:  # the key cannot be read (variable unset, credential missing)
        if cache.read(model_id) is None:
            raise
        log.warning("model %s: %s; using the cached %s without asking the API", name, exc, model_id)
        return cache.dir_for(model_id)
    if result.offline:
        log.warning("model %s: %s", name, result.note)
    else:
        log.info("model %s: %s", name, result.note)
    return result.path


def hosted_class_names(model_id: str, roboflow: RoboflowConfig, key: str) -> tuple[str, ...] | None:
    """The hosted model's class names from its package metadata, or None where they cannot be had."""
    cached = roboflow.cache.dir_for(model_id) / "class_names.txt"
    if roboflow.cache.read(model_id) is not None and cached.is_file():
        return _names(cached.read_bytes())
    if not roboflow.explicit:
        return None  # no API named: do not reach out to the public one unasked
    api = RoboflowApi(roboflow.api_url, key, timeout=5.0, retries=0)
    try:
        plan = resolve(api, model_id)
        generated = dict(plan.generated)
        if "class_names.txt" in generated:
            return _names(generated["class_names.txt"])
        url = next(f.url for f in plan.files if f.name == "class_names.txt")
        return _names(api.get_bytes(url))
    except (PullError, StopIteration) as exc:
        log.info("hosted model %s: class names not compared: %s", model_id, first_line(exc))
        return None


def warn_if_classes_differ(
    name: str, local: Sequence[str], hosted_id: str, roboflow: RoboflowConfig, key: str
) -> str | None:
    """Log (and return) one warning line when the local and hosted class lists differ."""
    hosted = hosted_class_names(hosted_id, roboflow, key)
    if hosted is None or tuple(hosted) == tuple(local):
        return None
    line = (
        f"model {name}: local classes {list(local)} differ from hosted model {hosted_id}'s {list(hosted)}; "
        "hosted results would name classes differently, check the model's path/model_id and hosted.model_id"
    )
    log.warning("%s", line)
    return line


def _names(data: bytes) -> tuple[str, ...]:
    return tuple(line.strip() for line in data.decode(errors="replace").splitlines() if line.strip())
