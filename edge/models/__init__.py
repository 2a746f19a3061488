"""The model contract and where it is read from."""

from edge.models.loader import load_spec
from edge.models.spec import KeypointSpec, ModelSpec, Task

__all__ = ["KeypointSpec", "ModelSpec", "Task", "load_spec"]
