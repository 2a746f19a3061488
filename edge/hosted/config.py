"""A model's ``hosted:`` section: which hosted model answers for it, with what key, and when.

``when`` names the local conditions that send a frame to the API instead of losing or holding
it: ``building`` (the model's TensorRT engine is not ready yet), ``overflow`` (a live stream's
frame would be dropped because the model is busy) and ``error`` (local inference failed on the
frame, e.g. out of GPU memory). ``max_rate`` caps requests per second, since every request is
billed; frames over it are handled as if there were no fallback (dropped and counted, or held).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from edge.models.spec import Task
from edge.publish.config import SecretRef
from edge.publish.fields import ConfigError, check_keys, check_mapping, get_int, get_str, parse_duration

REASONS = ("building", "overflow", "error")
# The v1 host per task (shared/specs/hosted-api-v1.md section 1).
DEFAULT_HOSTS = {
    Task.OBJECT_DETECTION: "https://detect.roboflow.com",
    Task.KEYPOINT_DETECTION: "https://detect.roboflow.com",
    Task.CLASSIFICATION: "https://classify.roboflow.com",
    Task.INSTANCE_SEGMENTATION: "https://outline.roboflow.com",
    Task.SEMANTIC_SEGMENTATION: "https://segment.roboflow.com",
}
_KEYS = ("model_id", "url", "api_key", "when", "max_rate", "queue", "timeout", "retries", "jpeg_quality")


@dataclass(frozen=True)
class HostedConfig:
    model_id: str  # "project/version"
    api_key: SecretRef
    url: str | None = None  # None: the v1 host for the model's task
    when: frozenset[str] = field(default_factory=lambda: frozenset(REASONS))
    max_rate: float = 5.0  # requests per second, at most
    queue: int = 8  # frames waiting for a request slot; more are refused
    timeout: float = 10.0  # seconds per request
    retries: int = 2  # extra attempts after 429, 503, 504 or a dropped connection
    jpeg_quality: int = 90

    def __post_init__(self) -> None:
        parts = self.model_id.split("/")
        if len(parts) != 2 or not all(parts) or any(c in self.model_id for c in " ?#&"):
            raise ConfigError(f"hosted.model_id: use project/version, like shapes-abc12/3, got {self.model_id!r}")
        if self.url is not None and urlsplit(self.url).scheme not in ("http", "https"):
            raise ConfigError(f"hosted.url: an http(s) URL, got {self.url!r}")
        if not set(self.when) <= set(REASONS) or not self.when:
            raise ConfigError(f"hosted.when: a list of {', '.join(REASONS)}, got {sorted(self.when)}")
        if self.max_rate <= 0 or self.timeout <= 0 or self.queue < 1 or self.retries < 0:
            raise ConfigError("hosted: max_rate and timeout must be positive, queue at least 1, retries 0 or more")

    def base_url(self, task: Task) -> str:
        return (self.url or DEFAULT_HOSTS[task]).rstrip("/")

    @classmethod
    def from_mapping(cls, data: object, where: str) -> HostedConfig:
        d: Mapping[str, Any] = check_mapping(data, where)
        check_keys(d, _KEYS, where)
        model_id = get_str(d, "model_id", where)
        if not model_id:
            raise ConfigError(f"{where}.model_id: required: the hosted model as project/version")
        if "api_key" not in d:
            raise ConfigError(f"{where}.api_key: required: {{env: ROBOFLOW_API_KEY}} or {{credential: NAME}}")
        when = d.get("when", list(REASONS))
        if isinstance(when, str):
            when = [when]
        if not isinstance(when, list) or not all(isinstance(w, str) for w in when):
            raise ConfigError(f"{where}.when: a list of {', '.join(REASONS)}")
        rate = d.get("max_rate", 5.0)
        if isinstance(rate, bool) or not isinstance(rate, (int, float)):
            raise ConfigError(f"{where}.max_rate: requests per second, a number, got {rate!r}")
        try:
            return cls(
                model_id=model_id,
                api_key=SecretRef.from_value(d["api_key"], f"{where}.api_key"),
                url=get_str(d, "url", where),
                when=frozenset(when),
                max_rate=float(rate),
                queue=get_int(d, "queue", where, 8, 1, 1000),
                timeout=parse_duration(d["timeout"], f"{where}.timeout") if "timeout" in d else 10.0,
                retries=get_int(d, "retries", where, 2, 0, 10),
                jpeg_quality=get_int(d, "jpeg_quality", where, 90, 10, 100),
            )
        except ConfigError as exc:
            text = str(exc)
            # The dataclass names its fields under "hosted"; say where in the config they are.
            raise ConfigError(where + text[len("hosted") :] if text.startswith("hosted") else text) from None
