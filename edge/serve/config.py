"""The ``http:`` section: where the server listens, which keys it takes, how long requests wait."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from edge.imagebounds import DEFAULT_MAX_PIXELS
from edge.publish.config import SecretRef
from edge.publish.fields import ConfigError, check_keys, check_mapping, get_bool, get_int, get_str, parse_duration
from edge.serve.exposure import config_refusal, exposed_without_keys
from edge.serve.urlpolicy import URLS_OFF, UrlPolicy

DEFAULT_PORT = 9001  # Roboflow Inference's port: clients pointed at a local server expect it
MAX_BODY = 5 * 1024 * 1024  # the hosted v1 hosts' request limit
DEFAULT_MAX_DECODES = 2  # images decoded at once: the decode peak is this x max_pixels x 3 bytes
_KEYS = (
    "host",
    "port",
    "api_keys",
    "max_wait",
    "max_queue",
    "max_pixels",
    "max_decodes",
    "allow_unauthenticated",
    "image_urls",
    "hosts",
)


@dataclass(frozen=True)
class HttpConfig:
    """``api_keys`` empty: no key is checked. ``max_wait``: seconds a request may wait for its
    model's worker before the answer is 503; ``max_queue``: requests waiting per model."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    api_keys: tuple[SecretRef, ...] = ()
    max_wait: float = 2.0
    max_queue: int = 16
    # model name -> project/version, from `edge serve --model-id` (a config gives model_id: per model)
    model_ids: tuple[tuple[str, str], ...] = ()
    max_pixels: int = DEFAULT_MAX_PIXELS  # width x height an image's header may declare (413 over it)
    max_decodes: int = DEFAULT_MAX_DECODES  # requests decoding an image at once
    allow_unauthenticated: bool = False  # listen beyond loopback without api_keys (warned at start)
    image_urls: UrlPolicy = URLS_OFF  # which ?image=URL may be downloaded: none by default
    hosts: tuple[str, ...] = ()  # names a keyless device answers to besides IPs and localhost (hostcheck.py)

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"http.port: a port number 0-65535, got {self.port}")
        if self.max_wait <= 0:
            raise ConfigError(f"http.max_wait: must be more than 0 seconds, got {self.max_wait:g}")
        if self.max_queue < 1:
            raise ConfigError(f"http.max_queue: at least 1, got {self.max_queue}")
        if self.max_pixels < 1:
            raise ConfigError(f"http.max_pixels: at least 1, got {self.max_pixels}")
        if self.max_decodes < 1:
            raise ConfigError(f"http.max_decodes: at least 1, got {self.max_decodes}")
        if exposed_without_keys(self.host, bool(self.api_keys), self.allow_unauthenticated):
            raise ConfigError(config_refusal("http", self.host))

    @classmethod
    def from_mapping(cls, data: object, where: str = "http") -> HttpConfig:
        d: Mapping[str, Any] = {} if data is None else check_mapping(data, where)
        check_keys(d, _KEYS, where)
        keys = d.get("api_keys", [])
        if not isinstance(keys, list):
            raise ConfigError(f"{where}.api_keys: a list of {{env: VARIABLE}} or {{credential: NAME}}")
        for i, k in enumerate(keys):
            if isinstance(k, str):  # the value itself is never echoed: it is a key
                raise ConfigError(
                    f"{where}.api_keys[{i}]: do not put the API key in the config file; "
                    "use {env: VARIABLE} or {credential: NAME} (a systemd LoadCredential= file)"
                )
        refs = tuple(SecretRef.from_value(k, f"{where}.api_keys[{i}]") for i, k in enumerate(keys))
        wait = parse_duration(d["max_wait"], f"{where}.max_wait") if "max_wait" in d else 2.0
        if wait <= 0:
            raise ConfigError(f"{where}.max_wait: must be more than 0 seconds, got {wait:g}")
        return cls(
            host=get_str(d, "host", where, "127.0.0.1") or "127.0.0.1",
            port=get_int(d, "port", where, DEFAULT_PORT, 0, 65535),
            api_keys=refs,
            max_wait=wait,
            max_queue=get_int(d, "max_queue", where, 16, 1, 10_000),
            max_pixels=get_int(d, "max_pixels", where, DEFAULT_MAX_PIXELS, 1, 1 << 31),
            max_decodes=get_int(d, "max_decodes", where, DEFAULT_MAX_DECODES, 1, 64),
            allow_unauthenticated=get_bool(d, "allow_unauthenticated", where, False),
            image_urls=UrlPolicy.parse(d.get("image_urls"), f"{where}.image_urls"),
            hosts=_hosts(d.get("hosts"), f"{where}.hosts"),
        )

    def resolve_keys(self) -> frozenset[str]:
        """The accepted keys' values; raises ConfigError naming the reference that cannot be read."""
        return frozenset(ref.resolve() for ref in self.api_keys)


def _hosts(value: object, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{where}: a list of host names the device is reached by, e.g. [jetson.local]")
    return tuple(v.strip().lower() for v in value)
