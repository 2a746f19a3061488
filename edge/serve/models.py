"""Which model answers ``/{project}/{version}``: its ``model_id`` (the model's ``model_id:``
or ``hosted.model_id``), or ``NAME/1`` for a model with neither."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from edge.errors import EdgeError
from edge.models.spec import ModelSpec, Task


@dataclass(frozen=True)
class ServedModel:
    name: str  # the model's name in the config (the pipeline's key)
    model_id: str  # project/version, as a client asks for it
    task: Task


def model_id_of(name: str, explicit: str | None, hosted_id: str | None) -> str:
    model_id = explicit or hosted_id or f"{name}/1"
    parts = model_id.split("/")
    if len(parts) != 2 or not all(parts):
        raise EdgeError(f"model {name}: model_id must be project/version, got {model_id!r}")
    return model_id


def served_models(ids: Mapping[str, str], specs: Mapping[str, ModelSpec]) -> dict[str, ServedModel]:
    """By model_id, for the models that loaded or wait for an engine (``ids``: name -> id)."""
    out: dict[str, ServedModel] = {}
    for name, model_id in ids.items():
        if name not in specs:
            continue
        if model_id in out:
            raise EdgeError(f"models {out[model_id].name} and {name} both answer {model_id}; give one a model_id")
        out[model_id] = ServedModel(name, model_id, specs[name].task)
    return out
