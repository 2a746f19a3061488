"""Secrets and URL credentials never reach /api/config."""

from __future__ import annotations

import json

from edge.config import parse_config
from edge.web.redact import plain, redact_text
from tests.serve.helpers import DETECT


def test_url_credentials_are_removed() -> None:
    assert redact_text("rtsp://user:pa55@cam.local:554/x") == "rtsp://***@cam.local:554/x"
    assert redact_text("http://token@host/a") == "http://***@host/a"
    assert redact_text("rtsp://cam.local/x") == "rtsp://cam.local/x"


def test_no_secret_of_a_whole_config_appears() -> None:
    text = (
        f"models:\n  det: {{path: {DETECT}}}\n"
        "streams:\n  cam: {uri: 'rtsp://admin:hunter2@10.0.0.5/live', models: [det]}\n"
        "mqtt: {host: 127.0.0.1, username: bob, password: {env: MQTT_PASSWORD_VAR}}\n"
        "http: {api_keys: [{env: API_KEY_VAR}]}\n"
    )
    out = json.dumps(plain(parse_config(text)))
    for secret in ("hunter2", "admin:", "MQTT_PASSWORD_VAR", "API_KEY_VAR"):
        assert secret not in out
    assert "10.0.0.5/live" in out


def test_secret_named_fields_are_hidden_and_others_kept() -> None:
    doc = plain({"api_key": "sk-1", "token": "t", "name": "door", "password": None, "keypoint_confidence": 0.5})
    assert doc == {"api_key": "***", "token": "***", "name": "door", "password": None, "keypoint_confidence": 0.5}
