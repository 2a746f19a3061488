"""A model's ``hosted:`` section: which hosted model answers for it, with what key, and when.

``when`` names the local conditions that send a frame to the API instead of losing or holding
it: ``building`` (the model's TensorRT engine is not ready yet), ``overflow`` (a live stream's
frame would be dropped because the model is busy) and ``error`` (local inference failed on the
frame, e.g. out of GPU memory) and ``latency`` (a live frame's predicted local latency passes
``max_latency`` seconds). ``max_rate`` caps requests per second, retries included, and
``daily_limit`` requests per UTC day, since every request is billed; frames over either are
handled as if there were no fallback (dropped and counted, or held). docs/hosted.md has the rest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from edge.models.spec import Task
from edge.publish.config import SecretRef
from edge.publish.fields import ConfigError, check_keys, check_mapping, get_int, get_str, parse_duration

REASONS = ("building", "overflow", "error", "latency")
DEFAULT_WHEN = ("building", "overflow", "error")  # latency needs a max_latency, so it is opt-in
# The v1 host per task (shared/specs/hosted-api-v1.md section 1).
DEFAULT_HOSTS = {
    Task.OBJECT_DETECTION: "https://detect.roboflow.com",
    Task.KEYPOINT_DETECTION: "https://detect.roboflow.com",
    Task.CLASSIFICATION: "https://classify.roboflow.com",
    Task.INSTANCE_SEGMENTATION: "https://outline.roboflow.com",
    Task.SEMANTIC_SEGMENTATION: "https://segment.roboflow.com",
}
_KEYS = (
    "model_id",
    "url",
    "api_key",
    "when",
    "max_rate",
    "queue",
    "timeout",
    "retries",
    "jpeg_quality",
    "upload_size",
    "daily_limit",
    "breaker_failures",
    "breaker_pause",
    "max_latency",
)


@dataclass(frozen=True)
class HostedConfig:
    model_id: str  # "project/version"
    api_key: SecretRef
    url: str | None = None  # None: the v1 host for the model's task
    when: frozenset[str] = field(default_factory=lambda: frozenset(DEFAULT_WHEN))
    max_rate: float = 5.0  # requests per second, at most
    queue: int = 8  # frames waiting for a request slot; more are refused
    timeout: float = 10.0  # seconds per request
    retries: int = 2  # extra attempts after 429, 503, 504 or a dropped connection
    jpeg_quality: int = 90
    upload_size: tuple[int, int] | None = None  # (width, height) cap of uploads; None: the model's input size
    daily_limit: int | None = None  # requests per UTC day; None: no limit
    breaker_failures: int = 5  # consecutive failed requests that open the breaker
    breaker_pause: float = 30.0  # seconds without requests once open; doubles up to MAX_PAUSE
    max_latency: float | None = None  # seconds; the ``latency`` trigger's budget

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
        if ("latency" in self.when) != (self.max_latency is not None):
            raise ConfigError("hosted: when: [latency] and max_latency (seconds) go together; give both or neither")
        if self.max_latency is not None and self.max_latency <= 0:
            raise ConfigError(f"hosted.max_latency: seconds, more than 0, got {self.max_latency}")
        if self.breaker_failures < 1 or self.breaker_pause <= 0:
            raise ConfigError("hosted: breaker_failures must be at least 1 and breaker_pause positive")
        if self.upload_size is not None and min(self.upload_size) < 32:
            raise ConfigError(f"hosted.upload_size: at least 32 pixels a side, got {self.upload_size}")

    def limits(self) -> str:
        """The bounds on cost, for the start-up log line."""
        daily = f"{self.daily_limit} a day" if self.daily_limit is not None else "no daily_limit"
        return f"at most {self.max_rate:g} requests/s and {daily}; breaker after {self.breaker_failures} failures"

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
        when = d.get("when", list(DEFAULT_WHEN))
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
                upload_size=_upload_size(d.get("upload_size"), f"{where}.upload_size"),
                daily_limit=get_int(d, "daily_limit", where, 0, 1, 10**9) if "daily_limit" in d else None,
                breaker_failures=get_int(d, "breaker_failures", where, 5, 1, 1000),
                breaker_pause=_seconds(d, "breaker_pause", where, 30.0) or 0.0,
                max_latency=_seconds(d, "max_latency", where, None),
            )
        except ConfigError as exc:
            text = str(exc)
            # The dataclass names its fields under "hosted"; say where in the config they are.
            raise ConfigError(where + text[len("hosted") :] if text.startswith("hosted") else text) from None


def _seconds(d: Mapping[str, Any], key: str, where: str, default: float | None) -> float | None:
    if key not in d:
        return default
    value = d[key]
    if isinstance(value, str) and value.endswith("ms") and value[:-2].replace(".", "", 1).isdigit():
        return float(value[:-2]) / 1000.0  # latency budgets are often given in milliseconds
    return parse_duration(value, f"{where}.{key}")


def _upload_size(value: object, where: str) -> tuple[int, int] | None:
    """``640`` (both sides at most 640) or ``[width, height]``; None: the model's input size."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return (value, value)
    if (
        isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return (value[0], value[1])
    raise ConfigError(f"{where}: a number of pixels (640) or [width, height], got {value!r}")
