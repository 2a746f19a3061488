"""The config's ``roboflow:`` section and a model's ``model_id:``.

``roboflow:`` holds what pulls and hosted fallbacks share: ``api_key`` (``{env: NAME}`` or
``{credential: NAME}``, read the same way as ``mqtt.password``), ``api_url`` and the cache
folder. A model with ``model_id: project/3`` instead of ``path:`` runs the package pulled into
that cache; its ``hosted:`` section may then leave out ``model_id`` (the same model) and
``api_key`` (the ``roboflow:`` key). Nothing here touches the network: the daemon pulls at
start (``edge.roboflow.daemon``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from edge.hosted.config import HostedConfig
from edge.publish.config import SecretRef
from edge.publish.fields import ConfigError, check_keys, check_mapping, get_str
from edge.roboflow.cache import PackageCache
from edge.roboflow.client import DEFAULT_API_URL
from edge.roboflow.pull import model_id_problem

_KEYS = ("api_key", "api_url", "cache_dir")
DEFAULT_KEY = SecretRef("env", "ROBOFLOW_API_KEY", "roboflow.api_key")


@dataclass(frozen=True)
class RoboflowConfig:
    cache_dir: Path  # where pulled packages live
    api_key: SecretRef = DEFAULT_KEY
    api_url: str = DEFAULT_API_URL
    explicit: bool = False  # the config has a roboflow: section

    @property
    def cache(self) -> PackageCache:
        return PackageCache(self.cache_dir)

    def key_hint(self) -> str:
        """Where the key comes from, for messages that say what to check."""
        return f"roboflow.api_key ({self.api_key.describe()})"

    @classmethod
    def default(cls, state_dir: Path) -> RoboflowConfig:
        return cls(state_dir / "models")

    @classmethod
    def from_mapping(cls, data: object, where: str, base: Path, state_dir: Path) -> RoboflowConfig:
        if data is None:
            return cls.default(state_dir)
        d: Mapping[str, Any] = check_mapping(data, where)
        check_keys(d, _KEYS, where)
        url = get_str(d, "api_url", where, DEFAULT_API_URL) or DEFAULT_API_URL
        if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
            raise ConfigError(f"{where}.api_url: an http(s) URL such as {DEFAULT_API_URL}, got {url!r}")
        key = SecretRef.from_value(d["api_key"], f"{where}.api_key") if "api_key" in d else DEFAULT_KEY
        cache_text = get_str(d, "cache_dir", where)
        cache_dir = base / Path(cache_text).expanduser() if cache_text else state_dir / "models"
        return cls(cache_dir, key, url.rstrip("/"), explicit=True)


def model_id_of(d: Mapping[str, Any], where: str) -> str | None:
    """A model's ``model_id``, checked; None when it names its model by ``path:``."""
    if d.get("model_id") is None:
        return None
    if d.get("path") is not None:
        raise ConfigError(f"{where}.model_id: give path or model_id, not both")
    problem = model_id_problem(d["model_id"])
    if problem:
        raise ConfigError(f"{where}.model_id: {problem}")
    return str(d["model_id"])


def hosted_config(data: object, where: str, model_id: str | None, roboflow: RoboflowConfig) -> HostedConfig | None:
    """A model's ``hosted:`` section, defaulting its model id to the model's and its key to roboflow's."""
    if data is None:
        return None
    d = dict(check_mapping(data, where))
    if model_id is not None:
        d.setdefault("model_id", model_id)
    key_defaulted = "api_key" not in d and (roboflow.explicit or model_id is not None)
    if key_defaulted:
        d["api_key"] = {roboflow.api_key.kind: roboflow.api_key.name}
    hosted = HostedConfig.from_mapping(d, where)
    # Errors reading a defaulted key must name the key's real place: roboflow.api_key.
    return dataclasses.replace(hosted, api_key=roboflow.api_key) if key_defaulted else hosted
