from __future__ import annotations

import pytest

from edge.hosted.config import HostedConfig
from edge.models.spec import Task
from edge.publish.fields import ConfigError

KEY = {"env": "ROBOFLOW_API_KEY"}


def test_defaults_and_hosts_per_task() -> None:
    cfg = HostedConfig.from_mapping({"model_id": "shapes/3", "api_key": KEY}, "models.det.hosted")
    assert cfg.when == {"building", "overflow", "error"} and cfg.max_rate == 5.0 and cfg.retries == 2
    assert (cfg.breaker_failures, cfg.breaker_pause, cfg.daily_limit, cfg.upload_size) == (5, 30.0, None, None)
    assert cfg.max_latency is None
    assert cfg.base_url(Task.INSTANCE_SEGMENTATION) == "https://outline.roboflow.com"
    assert cfg.base_url(Task.KEYPOINT_DETECTION) == "https://detect.roboflow.com"
    own = HostedConfig.from_mapping({"model_id": "a/1", "api_key": KEY, "url": "http://box:9001/"}, "h")
    assert own.base_url(Task.CLASSIFICATION) == "http://box:9001"


@pytest.mark.parametrize(
    ("extra", "field", "value"),
    [
        ({"upload_size": 640}, "upload_size", (640, 640)),
        ({"upload_size": [640, 384]}, "upload_size", (640, 384)),
        ({"daily_limit": 2000}, "daily_limit", 2000),
        ({"breaker_failures": 3, "breaker_pause": "2m"}, "breaker_pause", 120.0),
        ({"when": ["overflow", "latency"], "max_latency": "250ms"}, "max_latency", 0.25),
        ({"when": ["latency"], "max_latency": 1}, "max_latency", 1.0),
    ],
)
def test_the_cost_and_latency_keys(extra: dict, field: str, value: object) -> None:
    cfg = HostedConfig.from_mapping({"model_id": "a/1", "api_key": KEY, **extra}, "h")
    assert getattr(cfg, field) == value


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"api_key": KEY}, "models.det.hosted.model_id: required"),
        ({"model_id": "shapes", "api_key": KEY}, "models.det.hosted.model_id: use project/version"),
        ({"model_id": "a/1"}, "models.det.hosted.api_key: required"),
        ({"model_id": "a/1", "api_key": "rf_abc"}, "models.det.hosted.api_key: do not put the API key in the config"),
        ({"model_id": "a/1", "api_key": KEY, "when": ["soon"]}, "models.det.hosted.when: a list of building"),
        ({"model_id": "a/1", "api_key": KEY, "url": "ftp://x"}, "models.det.hosted.url: an http(s) URL"),
        ({"model_id": "a/1", "api_key": KEY, "max_rate": 0}, "models.det.hosted: max_rate and timeout must be"),
        ({"model_id": "a/1", "api_key": KEY, "retry": 1}, "models.det.hosted.retry: unknown key"),
        (
            {"model_id": "a/1", "api_key": KEY, "when": ["latency"]},
            "models.det.hosted: when: [latency] and max_latency",
        ),
        ({"model_id": "a/1", "api_key": KEY, "max_latency": 1}, "models.det.hosted: when: [latency] and max_latency"),
        ({"model_id": "a/1", "api_key": KEY, "upload_size": [640]}, "models.det.hosted.upload_size: a number"),
        ({"model_id": "a/1", "api_key": KEY, "upload_size": 8}, "models.det.hosted.upload_size: at least 32"),
        ({"model_id": "a/1", "api_key": KEY, "daily_limit": 0}, "models.det.hosted.daily_limit: must be between 1"),
        ({"model_id": "a/1", "api_key": KEY, "breaker_failures": 0}, "models.det.hosted.breaker_failures: must be"),
        ({"model_id": "a/1", "api_key": KEY, "breaker_pause": 0}, "models.det.hosted: breaker_failures must be"),
    ],
)
def test_errors_name_the_key(data: dict, says: str) -> None:
    with pytest.raises(ConfigError) as info:
        HostedConfig.from_mapping(data, "models.det.hosted")
    assert str(info.value).startswith(says), str(info.value)
    assert "rf_abc" not in str(info.value)
